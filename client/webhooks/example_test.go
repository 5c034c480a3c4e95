package webhooks_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/ashlarhq/ashlar/client/webhooks"
)

func ExampleMiddleware() {
	// Mount the verifier in front of your handler; it sees only signed,
	// well-formed deliveries.
	h := webhooks.Middleware("the webhook's secret token", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, _ := webhooks.FromContext(r.Context())
		data, err := ev.Decode()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if d, ok := data.(*webhooks.ApplicationEvent); ok {
			fmt.Println(ev.Action, d.Application.ID, d.Application.CurrentInterviewStage.Title)
		}
		w.WriteHeader(http.StatusNoContent) // acknowledge fast; work asynchronously
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	// What Ashby sends:
	body := []byte(`{"webhookActionId":"75395d87-4044-4dc4-bc29-0cec185e5f06","action":"candidateStageChange","data":{"application":{"id":"a1","currentInterviewStage":{"title":"Onsite"}}}}`)
	req, _ := http.NewRequest("POST", srv.URL, bytes.NewReader(body))
	req.Header.Set(webhooks.SignatureHeader, webhooks.Sign("the webhook's secret token", body))
	resp, _ := http.DefaultClient.Do(req)
	fmt.Println(resp.StatusCode)

	// A forged one:
	req, _ = http.NewRequest("POST", srv.URL, bytes.NewReader(body))
	req.Header.Set(webhooks.SignatureHeader, webhooks.Sign("guess", body))
	resp, _ = http.DefaultClient.Do(req)
	fmt.Println(resp.StatusCode)
	// Output:
	// candidateStageChange a1 Onsite
	// 204
	// 401
}

func ExampleVerify() {
	body := []byte(`{"webhookActionId":"w1","action":"ping","data":{"webhookActionType":"ping"}}`)
	header := "sha256=" + "00" // as received in Ashby-Signature
	fmt.Println(webhooks.Verify(body, header, "secret"))
	fmt.Println(webhooks.Verify(body, webhooks.Sign("secret", body), "secret"))
	// Output:
	// webhooks: Ashby-Signature is not sha256=<hex digest>
	// <nil>
}
