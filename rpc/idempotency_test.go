package rpc

import (
	"bytes"
	"mime/multipart"
	"testing"
)

func TestFingerprint(t *testing.T) {
	a := fingerprint("candidate.create", []byte(`{"name":"Ada","tags":[1,2.50]}`), "application/json")
	if b := fingerprint("candidate.create", []byte("{ \"tags\": [1, 2.50],\n \"name\": \"Ada\" }"), "application/json"); a != b {
		t.Error("the same request encoded differently has another fingerprint")
	}
	for _, other := range []struct{ ep, body string }{
		{"candidate.create", `{"name":"Ada","tags":[1,2.5]}`},
		{"candidate.create", `{"name":"Bob","tags":[1,2.50]}`},
		{"candidate.update", `{"name":"Ada","tags":[1,2.50]}`},
	} {
		if fingerprint(other.ep, []byte(other.body), "application/json") == a {
			t.Errorf("%s %s has the fingerprint of another request", other.ep, other.body)
		}
	}
	if fingerprint("x.create", nil, "") != fingerprint("x.create", []byte(`{}`), "application/json") {
		t.Error("an empty body differs from {}")
	}
	form := func(content string) (string, []byte) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf) // a random boundary each time
		w.WriteField("candidateId", "c1")
		f, _ := w.CreateFormFile("resume", "cv.pdf")
		f.Write([]byte(content))
		w.Close()
		return w.FormDataContentType(), buf.Bytes()
	}
	ct1, b1 := form("%PDF one")
	ct2, b2 := form("%PDF one")
	ct3, b3 := form("%PDF two")
	if fingerprint("candidate.uploadResume", b1, ct1) != fingerprint("candidate.uploadResume", b2, ct2) {
		t.Error("the same upload under another boundary has another fingerprint")
	}
	if fingerprint("candidate.uploadResume", b1, ct1) == fingerprint("candidate.uploadResume", b3, ct3) {
		t.Error("another file has the same fingerprint")
	}
}
