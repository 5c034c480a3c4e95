// Package browsertest runs the public pages' tests in a real browser:
// headless Chromium driven through the DevTools protocol (chromedp), with
// axe-core injected for accessibility checks. The careers site and the
// survey page share it.
//
// Chromium and axe-core come from .ci/setup.d/browser.sh. Without them the
// tests are skipped, unless ASHLAR_REQUIRE_BROWSER=1 (CI), which makes
// that a failure.
package browsertest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Require skips the test because what is unavailable, or fails it when
// ASHLAR_REQUIRE_BROWSER=1.
func Require(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("ASHLAR_REQUIRE_BROWSER") == "1" {
		t.Fatalf("%s is required (ASHLAR_REQUIRE_BROWSER=1): %v", what, err)
	}
	t.Skipf("%s not available: %v (run .ci/setup.d/browser.sh)", what, err)
}

// ChromiumPath is $ASHLAR_CHROMIUM or the Chromium on PATH.
func ChromiumPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("ASHLAR_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Require(t, "Chromium", errors.New("no chromium on PATH"))
	return ""
}

// AxeSource is axe-core's script: $ASHLAR_AXE_JS, else the copy
// browser.sh installs beside this package.
func AxeSource(t testing.TB) string {
	t.Helper()
	p := os.Getenv("ASHLAR_AXE_JS")
	if p == "" {
		_, file, _, _ := runtime.Caller(0)
		p = filepath.Join(filepath.Dir(file), "axe", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		Require(t, "axe-core", err)
	}
	return string(b)
}

// Browser starts a fresh headless Chromium for the test, stopped when it
// ends.
func Browser(t testing.TB) context.Context {
	t.Helper()
	exe := ChromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:0:0],
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		Require(t, "Chromium", err)
	}
	return ctx
}

type axeViolation struct {
	ID, Impact, Help string
	Nodes            []struct {
		HTML string `json:"html"`
	}
}

// AxeCheck runs axe-core (source from AxeSource) on the current page and
// fails the test on serious or critical violations.
func AxeCheck(t testing.TB, ctx context.Context, axe, label string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axe+";0")); err != nil {
		t.Fatalf("%s: inject axe: %v", label, err)
	}
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: run axe: %v", label, err)
	}
	for _, v := range violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			var where []string
			for _, n := range v.Nodes {
				where = append(where, n.HTML)
			}
			t.Errorf("%s: axe %s violation %s: %s\n  %s", label, v.Impact, v.ID, v.Help, strings.Join(where, "\n  "))
		}
	}
}

// Do runs the steps, failing the test on an error.
func Do(t testing.TB, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// Text is the visible text of the element sel selects.
func Text(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

// Value is the value of the input sel selects.
func Value(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("value of %s: %v", sel, err)
	}
	return v
}

// Click clicks the visible element sel selects.
func Click(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)
}

// WaitFor waits until the element sel selects is visible.
func WaitFor(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(sel))
}
