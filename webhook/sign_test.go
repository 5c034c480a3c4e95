package webhook

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"
)

type vectors struct {
	Ashby []struct {
		Name, Secret, Body, Signature string
		Valid                         bool
	}
	Standard []struct {
		Name           string
		SecretBase64   string `json:"secret_base64"`
		StandardSecret string `json:"standard_secret"`
		ID             string
		Timestamp      int64
		Body           string
		Signature      string
	}
}

// The vectors in testdata were computed outside Go (Python's hmac), so
// they check the signing code rather than echo it.
func TestSignatureGoldenVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/signatures.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Ashby) < 8 || len(v.Standard) < 2 {
		t.Fatalf("vectors missing: %d ashby, %d standard", len(v.Ashby), len(v.Standard))
	}
	for _, c := range v.Ashby {
		t.Run(c.Name, func(t *testing.T) {
			if c.Valid {
				if got := Sign(c.Secret, []byte(c.Body)); got != c.Signature {
					t.Fatalf("Sign = %s, want %s", got, c.Signature)
				}
			}
			if got := Verify(c.Secret, []byte(c.Body), c.Signature); got != c.Valid {
				t.Fatalf("Verify = %v, want %v", got, c.Valid)
			}
		})
	}
	for _, c := range v.Standard {
		t.Run(c.Name, func(t *testing.T) {
			key, err := base64.StdEncoding.DecodeString(c.SecretBase64)
			if err != nil {
				t.Fatal(err)
			}
			if got := StandardSecret(string(key)); got != c.StandardSecret {
				t.Fatalf("StandardSecret = %s, want %s", got, c.StandardSecret)
			}
			if got := StandardSign(string(key), c.ID, c.Timestamp, []byte(c.Body)); got != c.Signature {
				t.Fatalf("StandardSign = %s, want %s", got, c.Signature)
			}
		})
	}
}

func TestBodyIsExactEnvelope(t *testing.T) {
	got := string(Body("75395d87-4044-4dc4-bc29-0cec185e5f06", "ping", []byte(PingData)))
	want := `{"webhookActionId":"75395d87-4044-4dc4-bc29-0cec185e5f06","action":"ping","data":{"webhookActionType":"ping"}}`
	if got != want {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(got), &v); err != nil || len(v) != 3 {
		t.Fatalf("body is not the 3-key envelope: %v %v", v, err)
	}
}
