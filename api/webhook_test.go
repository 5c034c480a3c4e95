package api

import (
	"reflect"
	"testing"

	"github.com/ashlarhq/ashlar/ashby"
)

// The request's enum tag (what validation and /openapi.json use) must list
// exactly the event types settings accept.
func TestWebhookTypeEnumTag(t *testing.T) {
	f, _ := reflect.TypeFor[webhookCreateRequest]().FieldByName("WebhookType")
	if got := f.Tag.Get("enum"); got != ashby.WebhookTypesEnum {
		t.Fatalf("webhookCreateRequest enum tag\n got %s\nwant %s", got, ashby.WebhookTypesEnum)
	}
	if len(ashby.WebhookTypes) != 27 || !ashby.ValidWebhookType("signatureRequestUpdate") || ashby.ValidWebhookType("candidateLunch") {
		t.Fatalf("webhook types: %v", ashby.WebhookTypes)
	}
}

func TestCheckWebhookURL(t *testing.T) {
	for _, ok := range []string{"https://hooks.example.com/ashby", "http://127.0.0.1:8080/x?y=1", " https://example.com "} {
		if _, err := checkWebhookURL(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "example.com/x", "ftp://example.com", "https://", "/relative", "https://:80/x", "javascript:alert(1)"} {
		if _, err := checkWebhookURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
