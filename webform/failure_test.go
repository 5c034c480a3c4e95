package webform

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ashlarhq/ashlar/ashby"
)

func TestFailureStatus(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
	}{
		{errors.New("template: boom"), http.StatusInternalServerError},
		{fmt.Errorf("read: %w", &ashby.Error{Code: ashby.CodeUnavailable, Status: http.StatusServiceUnavailable}), http.StatusServiceUnavailable},
		{&ashby.Error{Code: ashby.CodeInternal, Status: http.StatusInternalServerError}, http.StatusInternalServerError},
	} {
		w := httptest.NewRecorder()
		got := FailureStatus(w, c.err)
		if got != c.status || (got == http.StatusServiceUnavailable) != (w.Header().Get("Retry-After") != "") {
			t.Errorf("%v: %d, Retry-After %q; want %d", c.err, got, w.Header().Get("Retry-After"), c.status)
		}
	}
}
