package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestGuard(t *testing.T) {
	reached := false
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true })
	for _, base := range []string{"http://localhost:8080", "https://ats.example.com"} {
		h := (&Server{config: Config{BaseURL: base}}).guard(next)
		for path, ok := range map[string]bool{
			"/jobs/demo": true, "/jobs/d%C3%A9mo?q=caf%C3%A9": true, "/candidate.list": true,
			"/jobs/demo%00": false, "/posting-api/job-board/demo%00": false, "/jobs/demo?q=%00": false,
			"/jobs/%FF": false, "/jobs/demo?q=%C3": false, "/surveys/%00/submitted": false,
		} {
			reached = false
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
			if reached != ok || !ok && w.Code != http.StatusNotFound {
				t.Errorf("%s: reached %v, status %d", path, reached, w.Code)
			}
			if w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s: no nosniff", path)
			}
			if hsts := w.Header().Get("Strict-Transport-Security"); (hsts != "") != (base[:5] == "https") {
				t.Errorf("%s on %s: HSTS %q", path, base, hsts)
			}
		}
	}
}
