// Command load drives a running Ashlar server from its own process, as a
// user's load would come: keep-alive HTTP clients repeat one scenario for
// a while, and it reports throughput, latency percentiles, errors and the
// server's memory over time (RssAnon and RssFile from /proc/PID/status,
// given the server's pid).
//
//	go run ./bench/load -url http://127.0.0.1:8080 -key KEY -pid PID -scenario list-first -clients 16 -duration 20s
//
// Scenarios:
//
//	list-first, list-middle, list-last   one page of -endpoint (candidate.list or application.list), -limit per page
//	list-random                          random pages of a full walk
//	info                                 candidate.info of random candidates
//	create                               candidate.create of new candidates
//	changeStage                          application.changeStage of random applications between open stages
//	submit                               careers-site applications, as a browser sends them: GET a posting's form,
//	                                     POST it (multipart, with a résumé) and expect the redirect to the
//	                                     confirmation; one operation is both requests. It publishes a posting on
//	                                     the organization's board first. Serve with --careers-rate-limit 0: the
//	                                     site allows 10 applications a minute from one address
//	mixed                                -mix-create of the clients create, the others read random list pages
//	sync                                 a full walk, then -changed candidates updated, then -rounds incremental syncs
//	                                     alternating with full walks: reports the medians (no load; clients ignored)
//
// With -compare URL (a bench/bytes server), the scenario's response bytes
// are captured from Ashlar and uploaded to that server, and the two are
// measured in alternating rounds; each round's ratio is reported, and
// the median. Only the single-page scenarios compare. With -rounds 0 the
// page is only uploaded, for measuring both servers with wrk.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/textproto"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

type config struct {
	url, key, scenario, endpoint, compare string
	clients, limit, rounds, changed       int
	duration, warmup, sample              time.Duration
	pid                                   int
	mixCreate                             int
	series                                bool
}

func main() {
	var c config
	flag.StringVar(&c.url, "url", "http://127.0.0.1:8080", "Ashlar's base URL")
	flag.StringVar(&c.key, "key", os.Getenv("ASHLAR_KEY"), "API key (default $ASHLAR_KEY)")
	flag.StringVar(&c.scenario, "scenario", "list-first", "what to run (see the package documentation)")
	flag.StringVar(&c.endpoint, "endpoint", "candidate.list", "the list endpoint of the list scenarios")
	flag.StringVar(&c.compare, "compare", "", "base URL of a bench/bytes server to compare with, in alternating rounds")
	flag.IntVar(&c.clients, "clients", 16, "concurrent keep-alive clients")
	flag.IntVar(&c.limit, "limit", 100, "page size of the list scenarios")
	flag.IntVar(&c.rounds, "rounds", 1, "rounds (with -compare: of each server, alternating)")
	flag.IntVar(&c.changed, "changed", 1000, "sync: how many candidates to change between the full and the incremental sync")
	flag.IntVar(&c.mixCreate, "mix-create", 4, "mixed: how many of the clients create candidates")
	flag.DurationVar(&c.duration, "duration", 20*time.Second, "length of each round")
	flag.DurationVar(&c.warmup, "warmup", 2*time.Second, "load before each round that is not measured")
	flag.DurationVar(&c.sample, "sample", time.Second, "how often the server's memory is sampled")
	flag.IntVar(&c.pid, "pid", 0, "the server's process id, to report its memory (0: find the process listening on -url's port)")
	flag.BoolVar(&c.series, "series", false, "print every memory sample, not only the summary")
	flag.Parse()
	if c.key == "" {
		fatalf("no API key: pass -key or set ASHLAR_KEY")
	}
	c.url = strings.TrimRight(c.url, "/")
	if c.pid == 0 {
		c.pid = listenerPID(c.url)
	}
	cl := newClient(c.key, c.clients)
	uptime()

	if c.scenario == "sync" {
		runSync(cl, &c)
		return
	}
	sc := setup(cl, &c)
	if c.compare != "" {
		if sc.page == nil {
			fatalf("scenario %s cannot be compared: only single-page scenarios can", c.scenario)
		}
		compare(cl, &c, sc)
		return
	}
	for r := 0; r < c.rounds; r++ {
		res := run(cl, c.url, sc, &c)
		res.print(fmt.Sprintf("%s %s", c.scenario, roundName(r, c.rounds)))
	}
	uptime()
}

func roundName(r, n int) string {
	if n == 1 {
		return ""
	}
	return fmt.Sprintf("round %d/%d", r+1, n)
}

// scenario makes each client's next request.
type scenario struct {
	// next returns the path and body of worker w's next request.
	next func(w *worker) (string, []byte)
	// act, if set, performs worker w's next operation against base
	// instead (several requests, not an API call): the bytes it read and
	// a description of what failed ("" if nothing did).
	act func(w *worker, base string) (int64, string)
	// page, for single-page scenarios, is the one request they repeat.
	page *request
}

type request struct {
	path string
	body []byte
}

type worker struct {
	id  int
	rnd *rand.Rand
	seq int
	hc  *http.Client // act scenarios: the worker's own cookies
}

var runID = strconv.FormatInt(time.Now().UnixNano()%1e9, 36)

func setup(cl *client, c *config) *scenario {
	switch c.scenario {
	case "list-first", "list-middle", "list-last":
		var req request
		if c.scenario == "list-first" {
			req = request{"/" + c.endpoint, pageBody(c.limit, "")}
		} else {
			cursors := walk(cl, c.url, c.endpoint, c.limit)
			i := len(cursors) - 1
			if c.scenario == "list-middle" {
				i = len(cursors) / 2
			}
			fmt.Printf("walked %d pages of %s; page %d is the scenario's\n", len(cursors), c.endpoint, i+1)
			req = request{"/" + c.endpoint, pageBody(c.limit, cursors[i])}
		}
		return &scenario{page: &req, next: func(*worker) (string, []byte) { return req.path, req.body }}
	case "list-random":
		cursors := walk(cl, c.url, c.endpoint, c.limit)
		bodies := make([][]byte, len(cursors))
		for i, cur := range cursors {
			bodies[i] = pageBody(c.limit, cur)
		}
		return &scenario{next: func(w *worker) (string, []byte) { return "/" + c.endpoint, bodies[w.rnd.IntN(len(bodies))] }}
	case "info":
		ids := collectIDs(cl, c.url, "candidate.list", 1000)
		bodies := make([][]byte, len(ids))
		for i, id := range ids {
			bodies[i] = []byte(`{"candidateId":"` + id + `"}`)
		}
		return &scenario{next: func(w *worker) (string, []byte) { return "/candidate.info", bodies[w.rnd.IntN(len(bodies))] }}
	case "create":
		return &scenario{next: createRequest}
	case "changeStage":
		return changeStageScenario(cl, c)
	case "submit":
		return submitScenario(cl, c)
	case "mixed":
		cursors := walk(cl, c.url, "candidate.list", c.limit)
		return &scenario{next: func(w *worker) (string, []byte) {
			if w.id < c.mixCreate {
				return createRequest(w)
			}
			return "/candidate.list", pageBody(c.limit, cursors[w.rnd.IntN(len(cursors))])
		}}
	}
	fatalf("unknown scenario %q", c.scenario)
	return nil
}

func createRequest(w *worker) (string, []byte) {
	w.seq++
	n := fmt.Sprintf("%s-%d-%d", runID, w.id, w.seq)
	return "/candidate.create", []byte(`{"name":"Load ` + n + `","email":"load-` + n + `@example.com","phoneNumber":"+1 415 555 0100"}`)
}

func changeStageScenario(cl *client, c *config) *scenario {
	var plans []struct {
		ID string `json:"id"`
	}
	mustResults(cl.post(c.url+"/interviewPlan.list", []byte(`{}`)), &plans)
	var stages []struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	mustResults(cl.post(c.url+"/interviewStage.list", []byte(`{"interviewPlanId":"`+plans[0].ID+`"}`)), &stages)
	var open []string
	for _, s := range stages {
		if s.Type == "Lead" || s.Type == "PreInterviewScreen" || s.Type == "Active" {
			open = append(open, s.ID)
		}
	}
	if len(open) < 2 {
		fatalf("the default plan has fewer than two open stages")
	}
	apps := collectIDs(cl, c.url, "application.list", 1000)
	return &scenario{next: func(w *worker) (string, []byte) {
		// Each worker moves its own applications (so that two clients do
		// not queue on one row), each to its next open stage.
		w.seq++
		app := apps[(w.id+w.seq*c.clients)%len(apps)]
		st := open[(w.seq/max(1, len(apps)/c.clients)+w.id)%len(open)]
		return "/application.changeStage", []byte(`{"applicationId":"` + app + `","interviewStageId":"` + st + `"}`)
	}}
}

// submitScenario publishes a posting for an open job and applies to it
// through the careers site, as a browser does.
func submitScenario(cl *client, c *config) *scenario {
	var jobs []struct {
		ID string `json:"id"`
	}
	mustResults(cl.post(c.url+"/job.list", []byte(`{"limit":1,"status":["Open"]}`)), &jobs)
	if len(jobs) == 0 {
		fatalf("submit: the organization has no open job")
	}
	var posting struct {
		ApplyLink string `json:"applyLink"`
	}
	mustResults(cl.post(c.url+"/jobPosting.create", []byte(`{"jobId":"`+jobs[0].ID+`","status":"Published","descriptionHtml":"<p>Load test posting.</p>"}`)), &posting)
	u, err := url.Parse(posting.ApplyLink)
	if err != nil || u.Path == "" {
		fatalf("submit: posting without an apply link: %q", posting.ApplyLink)
	}
	form := u.Path
	fmt.Printf("applying at %s\n", form)
	hidden := regexp.MustCompile(`name="(csrf|idempotency_key)" value="([^"]*)"`)
	resume := []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
	return &scenario{act: func(w *worker, base string) (int64, string) {
		if w.hc == nil {
			jar, _ := cookiejar.New(nil)
			w.hc = &http.Client{Transport: cl.hc.Transport, Jar: jar,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		}
		resp, err := w.hc.Get(base + form)
		if err != nil {
			return 0, "GET form: " + err.Error()
		}
		page, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return int64(len(page)), fmt.Sprintf("GET form: status %d, %v", resp.StatusCode, err)
		}
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for _, m := range hidden.FindAllSubmatch(page, -1) {
			mw.WriteField(string(m[1]), string(m[2]))
		}
		w.seq++
		n := fmt.Sprintf("%s-%d-%d", runID, w.id, w.seq)
		mw.WriteField("_systemfield_name", "Applicant "+n)
		mw.WriteField("_systemfield_email", "applicant-"+n+"@example.com")
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="_systemfield_resume"; filename="resume.pdf"`)
		h.Set("Content-Type", "application/pdf")
		part, _ := mw.CreatePart(h)
		part.Write(resume)
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, base+form, &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err = w.hc.Do(req)
		if err != nil {
			return int64(len(page)), "POST form: " + err.Error()
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		read := int64(len(page) + len(answer))
		if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "/submitted?ref=") {
			return read, fmt.Sprintf("POST form: status %d, %.300s", resp.StatusCode, answer)
		}
		return read, ""
	}}
}

// result is one round's measurements.
type result struct {
	dur        time.Duration
	n, errs    int
	bytes      int64
	lat        []time.Duration
	firstError string
	mem        memStats
}

func (r *result) rate() float64 { return float64(r.n) / r.dur.Seconds() }

func (r *result) print(label string) {
	slices.Sort(r.lat)
	pct := func(p float64) time.Duration {
		if len(r.lat) == 0 {
			return 0
		}
		return r.lat[min(len(r.lat)-1, int(p*float64(len(r.lat))))]
	}
	avg := int64(0)
	if r.n > 0 {
		avg = r.bytes / int64(r.n)
	}
	fmt.Printf("%-32s %8.0f req/s  n=%d errors=%d  p50=%v p99=%v max=%v  bytes/resp=%d%s\n",
		label, r.rate(), r.n, r.errs, pct(0.5).Round(time.Microsecond), pct(0.99).Round(time.Microsecond),
		pct(1).Round(time.Microsecond), avg, r.mem.summary())
	if r.firstError != "" {
		fmt.Printf("  first error: %.300s\n", r.firstError)
	}
}

// run measures one round of sc against base.
func run(cl *client, base string, sc *scenario, c *config) *result {
	if c.warmup > 0 {
		load(cl, base, sc, c.clients, c.warmup, nil)
	}
	var mem *sampler
	if c.pid > 0 && strings.HasPrefix(base, c.url) {
		mem = sample(c.pid, c.sample, c.series)
	}
	res := load(cl, base, sc, c.clients, c.duration, nil)
	if mem != nil {
		res.mem = mem.stop()
	}
	return res
}

func load(cl *client, base string, sc *scenario, clients int, d time.Duration, _ any) *result {
	var wg sync.WaitGroup
	results := make([]*result, clients)
	start := time.Now()
	deadline := start.Add(d)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{id: i, rnd: rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))}
			r := &result{lat: make([]time.Duration, 0, 1<<14)}
			for time.Now().Before(deadline) {
				if sc.act != nil {
					t := time.Now()
					n, failed := sc.act(w, base)
					r.lat = append(r.lat, time.Since(t))
					r.n++
					r.bytes += n
					if failed != "" {
						r.errs++
						if r.firstError == "" {
							r.firstError = failed
						}
					}
					continue
				}
				path, body := sc.next(w)
				t := time.Now()
				b, status, err := cl.do(base+path, body)
				r.lat = append(r.lat, time.Since(t))
				r.n++
				r.bytes += int64(len(b))
				if err != nil || status != 200 || !bytes.HasPrefix(b, []byte(`{"success":true`)) {
					r.errs++
					if r.firstError == "" {
						r.firstError = fmt.Sprintf("%s: status %d, %v, %s", path, status, err, b)
					}
				}
			}
			results[i] = r
		}()
	}
	wg.Wait()
	total := &result{dur: time.Since(start)}
	for _, r := range results {
		total.n += r.n
		total.errs += r.errs
		total.bytes += r.bytes
		total.lat = append(total.lat, r.lat...)
		if total.firstError == "" {
			total.firstError = r.firstError
		}
	}
	return total
}

// compare measures Ashlar and the bytes-only server in alternating
// rounds, serving the same response bytes.
func compare(cl *client, c *config, sc *scenario) {
	body, status, err := cl.do(c.url+sc.page.path, sc.page.body)
	if err != nil || status != 200 {
		fatalf("capture %s: status %d, %v: %.200s", sc.page.path, status, err, body)
	}
	req, _ := http.NewRequest(http.MethodPut, c.compare+"/__bytes", bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 204 {
		fatalf("upload the page to %s: %v %v", c.compare, err, resp)
	}
	resp.Body.Close()
	fmt.Printf("captured %s (%d bytes) and uploaded it to %s\n", sc.page.path, len(body), c.compare)
	if c.rounds == 0 {
		return // -rounds 0: only upload, for another load generator (wrk)
	}
	var ratios, a, b []float64
	for r := 0; r < c.rounds; r++ {
		ra := run(cl, c.url, sc, c)
		ra.print(fmt.Sprintf("%s ashlar %s", c.scenario, roundName(r, c.rounds)))
		rb := run(cl, c.compare, sc, c)
		rb.print(fmt.Sprintf("%s bytes-only %s", c.scenario, roundName(r, c.rounds)))
		ratios, a, b = append(ratios, ra.rate()/rb.rate()), append(a, ra.rate()), append(b, rb.rate())
		fmt.Printf("  ratio %.2f\n", ra.rate()/rb.rate())
	}
	fmt.Printf("%s: ashlar %.0f req/s, bytes-only %.0f req/s (medians of %d rounds), ratio median %.2f (range %.2f–%.2f)\n",
		c.scenario, median(a), median(b), c.rounds, median(ratios), slices.Min(ratios), slices.Max(ratios))
	uptime()
}

// runSync measures an incremental sync against a full walk: walk
// everything (keeping the sync token), change c.changed candidates,
// then sync incrementally from the token.
func runSync(cl *client, c *config) {
	t := time.Now()
	pages, docs, token := syncWalk(cl, c.url, c.endpoint, c.limit, "")
	full := time.Since(t)
	fmt.Printf("full sync of %s: %d pages, %d records in %v\n", c.endpoint, pages, docs, full.Round(time.Millisecond))
	ids := collectIDs(cl, c.url, "candidate.list", 100000)
	rnd := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	rnd.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	for i := 0; i < min(c.changed, len(ids)); i++ {
		body := []byte(`{"candidateId":"` + ids[i] + `","phoneNumber":"+1 415 555 ` + fmt.Sprintf("%04d", rnd.IntN(10000)) + `"}`)
		b, status, err := cl.do(c.url+"/candidate.update", body)
		if err != nil || status != 200 || !bytes.HasPrefix(b, []byte(`{"success":true`)) {
			fatalf("candidate.update: %d %v %.200s", status, err, b)
		}
	}
	// Both walks are repeated, alternating, over the same database, and
	// the medians compared: one walk of a few pages is at the mercy of
	// the machine's noise.
	var fulls, incrs []float64
	var ipages, idocs int
	for r := 0; r < max(1, c.rounds); r++ {
		t = time.Now()
		ipages, idocs, _ = syncWalk(cl, c.url, c.endpoint, c.limit, token)
		incrs = append(incrs, time.Since(t).Seconds())
		t = time.Now()
		syncWalk(cl, c.url, c.endpoint, c.limit, "")
		fulls = append(fulls, time.Since(t).Seconds())
	}
	incr, fullMed := median(incrs), median(fulls)
	fmt.Printf("changed %d candidates; incremental sync: %d pages, %d records in %.0f ms (median of %d; %.0f–%.0f); full walk afterwards %.2f s (median; %.2f–%.2f)\n",
		min(c.changed, len(ids)), ipages, idocs, 1000*incr, len(incrs), 1000*slices.Min(incrs), 1000*slices.Max(incrs), fullMed, slices.Min(fulls), slices.Max(fulls))
	fmt.Printf("incremental/full time: %.4f (%.2f%%)\n", incr/fullMed, 100*incr/fullMed)
	uptime()
}

func syncWalk(cl *client, base, endpoint string, limit int, token string) (pages, docs int, next string) {
	cursor := ""
	for {
		req := map[string]any{"limit": limit}
		if cursor != "" {
			req["cursor"] = cursor
		} else if token != "" {
			req["syncToken"] = token
		}
		b, _ := json.Marshal(req)
		var env struct {
			Results    []json.RawMessage `json:"results"`
			More       bool              `json:"moreDataAvailable"`
			NextCursor string            `json:"nextCursor"`
			SyncToken  string            `json:"syncToken"`
		}
		mustEnvelope(cl.post(base+"/"+endpoint, b), &env)
		pages++
		docs += len(env.Results)
		if !env.More {
			return pages, docs, env.SyncToken
		}
		cursor = env.NextCursor
	}
}

// walk pages through a list once and returns each page's cursor ("" for
// the first).
func walk(cl *client, base, endpoint string, limit int) []string {
	cursors := []string{""}
	for {
		var env struct {
			More       bool   `json:"moreDataAvailable"`
			NextCursor string `json:"nextCursor"`
		}
		mustEnvelope(cl.post(base+"/"+endpoint, pageBody(limit, cursors[len(cursors)-1])), &env)
		if !env.More {
			return cursors
		}
		cursors = append(cursors, env.NextCursor)
	}
}

// collectIDs returns the ids of up to n records of a list.
func collectIDs(cl *client, base, endpoint string, n int) []string {
	var ids []string
	cursor := ""
	for len(ids) < n {
		var env struct {
			Results []struct {
				ID string `json:"id"`
			} `json:"results"`
			More       bool   `json:"moreDataAvailable"`
			NextCursor string `json:"nextCursor"`
		}
		mustEnvelope(cl.post(base+"/"+endpoint, pageBody(100, cursor)), &env)
		for _, r := range env.Results {
			ids = append(ids, r.ID)
		}
		if !env.More {
			break
		}
		cursor = env.NextCursor
	}
	if len(ids) == 0 {
		fatalf("%s returned no records", endpoint)
	}
	return ids[:min(n, len(ids))]
}

func pageBody(limit int, cursor string) []byte {
	if cursor == "" {
		return []byte(`{"limit":` + strconv.Itoa(limit) + `}`)
	}
	return []byte(`{"limit":` + strconv.Itoa(limit) + `,"cursor":"` + cursor + `"}`)
}

// client is a keep-alive HTTP client sending the API key.
type client struct {
	hc   *http.Client
	auth string
}

func newClient(key string, conns int) *client {
	return &client{
		hc:   &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns + 4, MaxConnsPerHost: conns + 4, DisableCompression: true}},
		auth: "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":")),
	}
}

func (cl *client) do(url string, body []byte) ([]byte, int, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", cl.auth)
	resp, err := cl.hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp.StatusCode, err
}

func (cl *client) post(url string, body []byte) []byte {
	b, status, err := cl.do(url, body)
	if err != nil || status != 200 {
		fatalf("POST %s: status %d, %v: %.300s", url, status, err, b)
	}
	return b
}

func mustEnvelope(b []byte, v any) {
	if !bytes.HasPrefix(b, []byte(`{"success":true`)) {
		fatalf("request failed: %.300s", b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		fatalf("decode response: %v", err)
	}
}

func mustResults(b []byte, v any) {
	var env struct {
		Results json.RawMessage `json:"results"`
	}
	mustEnvelope(b, &env)
	if err := json.Unmarshal(env.Results, v); err != nil {
		fatalf("decode results: %v", err)
	}
}

// memStats summarises the server's memory during a round, in MB.
type memStats struct {
	samples            int
	anonFirst, anonMax float64
	anonLast           float64
	fileFirst, fileMax float64
	fileLast           float64
}

func (m memStats) summary() string {
	if m.samples == 0 {
		return ""
	}
	return fmt.Sprintf("  RssAnon %.0f→%.0f MB (max %.0f)  RssFile %.0f→%.0f MB (max %.0f)",
		m.anonFirst, m.anonLast, m.anonMax, m.fileFirst, m.fileLast, m.fileMax)
}

type sampler struct {
	done chan struct{}
	out  chan memStats
}

// sample reads the server's RssAnon and RssFile every interval until
// stopped.
func sample(pid int, every time.Duration, series bool) *sampler {
	s := &sampler{done: make(chan struct{}), out: make(chan memStats, 1)}
	go func() {
		var m memStats
		start := time.Now()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			anon, file, ok := rss(pid)
			if ok {
				if m.samples == 0 {
					m.anonFirst, m.fileFirst = anon, file
				}
				m.samples++
				m.anonLast, m.fileLast = anon, file
				m.anonMax, m.fileMax = max(m.anonMax, anon), max(m.fileMax, file)
				if series {
					fmt.Printf("  t=%5.1fs RssAnon %.1f MB RssFile %.1f MB\n", time.Since(start).Seconds(), anon, file)
				}
			}
			select {
			case <-s.done:
				s.out <- m
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *sampler) stop() memStats {
	close(s.done)
	return <-s.out
}

// rss reads RssAnon and RssFile (MB) from /proc/PID/status.
func rss(pid int) (anon, file float64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, found := strings.Cut(line, ":")
		if !found {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[0], 64)
		switch k {
		case "RssAnon":
			anon = kb / 1024
		case "RssFile":
			file = kb / 1024
		}
	}
	return anon, file, true
}

// listenerPID finds the process listening on the URL's port (Linux,
// through ss), so that -pid can usually be left out.
func listenerPID(url string) int {
	host := strings.TrimPrefix(strings.TrimPrefix(url, "http://"), "https://")
	host, _, _ = strings.Cut(host, "/")
	_, port, err := net.SplitHostPort(host)
	if err != nil {
		return 0
	}
	out, err := exec.Command("ss", "-Hltnp", "sport = :"+port).Output()
	if err != nil {
		return 0
	}
	s := string(out)
	if i := strings.Index(s, "pid="); i >= 0 {
		end := strings.IndexAny(s[i+4:], ",)")
		if end > 0 {
			pid, _ := strconv.Atoi(s[i+4 : i+4+end])
			return pid
		}
	}
	return 0
}

func uptime() {
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		fmt.Printf("load average: %s %s %s (%s)\n", f[0], f[1], f[2], time.Now().UTC().Format(time.RFC3339))
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "load: "+format+"\n", args...)
	os.Exit(1)
}
