package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// killRounds is the number of kill -9 rounds of TestE2EKillRounds, for
// both engines together: 20 by default (what .ci/run runs), more with
// ASHLAR_KILL_ROUNDS for a longer run (docs/testing.md).
func killRounds(t *testing.T) int {
	n := 20
	if v := os.Getenv("ASHLAR_KILL_ROUNDS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 2 {
			t.Fatalf("ASHLAR_KILL_ROUNDS=%q: want a number of rounds, at least 2", v)
		}
	}
	return n
}

// The kill -9 rounds: several clients write concurrently (candidate.create
// and update, notes, application.create and changeStage) while the server
// is killed with SIGKILL at a random moment; it is restarted on the same
// database and checked, record by record, against what the clients saw
// acknowledged:
//   - every acknowledged write is there;
//   - a write that was not acknowledged is there whole or not at all: each
//     application's current stage is the last entry of its history, its
//     embedded candidate summary matches the candidate, the candidate lists
//     it, and nothing exists that no client tried to write;
//   - the API answers (the checks run through it).
//
// TestE2EWebhookCrash kills the server the same way to check webhook
// delivery; this test checks the data.
func TestE2EKillRounds(t *testing.T) {
	t.Parallel()
	rounds := killRounds(t)
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		perEngine := rounds / 2
		srv := testserver.Start(t, engine, testserver.Options{})
		_, key := srv.NewOrg()
		f := newFixture(t, srv.Client(key))
		var stages []string // where applications move (never Archived: that needs a reason)
		for _, st := range f.stages {
			if st.Type != "Archived" {
				stages = append(stages, st.ID)
			}
		}
		m := &killModel{cands: map[string]*kCand{}, apps: map[string]*kApp{}, pendingCreate: map[string]int{}}
		rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
		start := time.Now()
		const workers = 3
		for round := range perEngine {
			m.touched = map[string]bool{}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				wc, wr := srv.Client(key), rand.New(rand.NewPCG(rnd.Uint64(), uint64(w)))
				go func() {
					defer wg.Done()
					m.work(wc, w, round, f.job.ID, stages, wr, stop)
				}()
			}
			// The kill lands mid-burst: after a write of this round was
			// acknowledged (however slow the machine), at a random moment.
			before, _ := m.counts()
			waitUntil(t, "a write acknowledged this round", 2*time.Minute, func() bool { n, _ := m.counts(); return n > before })
			time.Sleep(time.Duration(rnd.IntN(450)) * time.Millisecond)
			srv.Kill()
			close(stop)
			wg.Wait()
			srv.Restart()
			m.check(t, srv.Client(key), false)
			if t.Failed() {
				t.Fatalf("round %d of %d failed", round+1, perEngine)
			}
		}
		m.check(t, srv.Client(key), true)
		acked, unacked := m.counts()
		t.Logf("%s: %d kill -9 rounds in %s; %d writes acknowledged, %d interrupted; %d candidates, %d applications",
			engine, perEngine, time.Since(start).Round(time.Millisecond), acked, unacked, len(m.cands), len(m.apps))
		if acked < 2*perEngine {
			t.Fatalf("only %d writes were acknowledged in %d rounds; the test did not exercise much", acked, perEngine)
		}
	})
}

// killModel is what the clients know about the records they wrote.
type killModel struct {
	mu    sync.Mutex
	cands map[string]*kCand // by id
	apps  map[string]*kApp  // by id
	// pendingCreate counts candidate.create calls by name that got no
	// answer: the candidate may exist (whole) or not.
	pendingCreate map[string]int
	// touched are the candidates and applications written this round,
	// whose notes and history are checked after the restart.
	touched          map[string]bool
	acked, unacked   int
	pendingAppCreate map[string]bool // candidate ids with an unanswered application.create
	bugs             []string        // errors the server answered with
}

type kCand struct {
	owner int
	name  string          // as last acknowledged
	maybe map[string]bool // names sent since, unanswered
	notes map[string]bool // acknowledged note contents
	tried map[string]bool // every note content sent
	app   string          // its application to the job, once acknowledged
}

type kApp struct {
	cand  string
	stage string
	maybe map[string]bool
}

func (m *killModel) counts() (int, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.acked, m.unacked
}

func (m *killModel) result(err error) {
	if err != nil {
		m.unacked++
	} else {
		m.acked++
	}
}

// work writes until the server dies (its first failed call) or stop.
func (m *killModel) work(c *client.Client, w, round int, jobID string, stages []string, rnd *rand.Rand, stop chan struct{}) {
	c.MaxRetries = 0 // an unanswered write is not acknowledged, and not sent twice
	call := func(endpoint string, req, out any) error {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err := c.Call(ctx, endpoint, req, out)
		return err
	}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		m.mu.Lock()
		var mine, withApp, withoutApp []string
		for id, cd := range m.cands {
			if cd.owner != w {
				continue
			}
			mine = append(mine, id)
			if cd.app != "" {
				withApp = append(withApp, id)
			} else if !m.pendingAppCreate[id] {
				withoutApp = append(withoutApp, id)
			}
		}
		m.mu.Unlock()
		slices.Sort(mine)
		slices.Sort(withApp)
		slices.Sort(withoutApp)
		tag := fmt.Sprintf("k%d-%d-%d", w, round, i)
		var err error
		switch op := rnd.IntN(10); {
		case len(mine) == 0 || op < 3:
			name := "Cand " + tag
			var cd ashby.Candidate
			err = call("candidate.create", map[string]any{"name": name}, &cd)
			m.mu.Lock()
			if err != nil {
				m.pendingCreate[name]++
			} else {
				m.cands[cd.ID] = &kCand{owner: w, name: name, maybe: map[string]bool{}, notes: map[string]bool{}, tried: map[string]bool{}}
				m.touched[cd.ID] = true
			}
		case op < 5:
			id := mine[rnd.IntN(len(mine))]
			name := "Renamed " + tag
			m.mu.Lock()
			m.cands[id].maybe[name] = true
			m.touched[id] = true
			m.mu.Unlock()
			err = call("candidate.update", map[string]any{"candidateId": id, "name": name}, nil)
			m.mu.Lock()
			if err == nil {
				m.cands[id].name, m.cands[id].maybe = name, map[string]bool{}
			}
		case op < 6:
			id := mine[rnd.IntN(len(mine))]
			note := "Note " + tag
			m.mu.Lock()
			m.cands[id].tried[note] = true
			m.touched[id] = true
			m.mu.Unlock()
			err = call("candidate.createNote", map[string]any{"candidateId": id, "note": note}, nil)
			m.mu.Lock()
			if err == nil {
				m.cands[id].notes[note] = true
			}
		case op < 8 && len(withoutApp) > 0:
			id := withoutApp[rnd.IntN(len(withoutApp))]
			m.mu.Lock()
			m.touched[id] = true
			m.mu.Unlock()
			var app ashby.Application
			err = call("application.create", map[string]any{"candidateId": id, "jobId": jobID}, &app)
			m.mu.Lock()
			if err != nil {
				if m.pendingAppCreate == nil {
					m.pendingAppCreate = map[string]bool{}
				}
				m.pendingAppCreate[id] = true
			} else {
				m.cands[id].app = app.ID
				m.apps[app.ID] = &kApp{cand: id, stage: app.CurrentInterviewStage.ID, maybe: map[string]bool{}}
				m.touched[app.ID] = true
			}
		case len(withApp) > 0:
			m.mu.Lock()
			appID := m.cands[withApp[rnd.IntN(len(withApp))]].app
			stage := stages[rnd.IntN(len(stages))]
			m.apps[appID].maybe[stage] = true
			m.touched[appID] = true
			m.mu.Unlock()
			err = call("application.changeStage", map[string]any{"applicationId": appID, "interviewStageId": stage}, nil)
			m.mu.Lock()
			if err == nil {
				m.apps[appID].stage, m.apps[appID].maybe = stage, map[string]bool{}
			}
		default:
			m.mu.Lock()
		}
		m.result(err)
		m.mu.Unlock()
		if err != nil {
			if client.Code(err) != "" {
				// The server answered with an error: a bug, not a crash.
				m.mu.Lock()
				m.bugs = append(m.bugs, fmt.Sprintf("worker %d: %v", w, err))
				m.mu.Unlock()
			}
			return // the server is down
		}
	}
}

// check compares the server with the model after a restart. Writes that
// were not acknowledged but are found whole are adopted. all checks every
// record's notes and history, not only those written this round.
func (m *killModel) check(t *testing.T, c *client.Client, all bool) {
	t.Helper()
	ctx := context.Background()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range m.bugs {
		t.Errorf("a write failed with an error answer rather than a dropped connection: %s", b)
	}
	m.bugs = nil
	cands, _, err := client.All[ashby.Candidate](ctx, c, "candidate.list", nil)
	if err != nil {
		t.Fatalf("after the restart, candidate.list: %v", err)
	}
	apps, _, err := client.All[ashby.Application](ctx, c, "application.list", nil)
	if err != nil {
		t.Fatalf("after the restart, application.list: %v", err)
	}
	byID := map[string]ashby.Candidate{}
	for _, cd := range cands {
		byID[cd.ID] = cd
		mc, known := m.cands[cd.ID]
		if !known {
			// An interrupted create that committed: adopt it.
			if m.pendingCreate[cd.Name] == 0 {
				t.Errorf("candidate %s %q exists, yet no client created it", cd.ID, cd.Name)
				continue
			}
			m.pendingCreate[cd.Name]--
			var owner int
			fmt.Sscanf(cd.Name, "Cand k%d-", &owner)
			mc = &kCand{owner: owner, name: cd.Name, maybe: map[string]bool{}, notes: map[string]bool{}, tried: map[string]bool{}}
			m.cands[cd.ID] = mc
			m.touched[cd.ID] = true
			continue
		}
		if cd.Name != mc.name && !mc.maybe[cd.Name] {
			t.Errorf("candidate %s is named %q; the last acknowledged name is %q (unanswered: %v)", cd.ID, cd.Name, mc.name, mc.maybe)
		}
		mc.name, mc.maybe = cd.Name, map[string]bool{}
	}
	m.pendingCreate = map[string]int{} // what is not there now never will be
	for id := range m.cands {
		if _, ok := byID[id]; !ok {
			t.Errorf("acknowledged candidate %s %q is missing", id, m.cands[id].name)
		}
	}
	seen := map[string]bool{}
	for _, a := range apps {
		seen[a.ID] = true
		ma, known := m.apps[a.ID]
		mc := m.cands[a.Candidate.ID]
		if !known {
			if mc == nil || !m.pendingAppCreate[a.Candidate.ID] || mc.app != "" {
				t.Errorf("application %s of candidate %s exists, yet no client created it", a.ID, a.Candidate.ID)
				continue
			}
			ma = &kApp{cand: a.Candidate.ID, stage: a.CurrentInterviewStage.ID, maybe: map[string]bool{}}
			m.apps[a.ID], mc.app = ma, a.ID
			m.touched[a.ID] = true
		}
		if st := a.CurrentInterviewStage.ID; st != ma.stage && !ma.maybe[st] {
			t.Errorf("application %s is in stage %s; the last acknowledged is %s", a.ID, st, ma.stage)
		}
		ma.stage, ma.maybe = a.CurrentInterviewStage.ID, map[string]bool{}
		cd, ok := byID[a.Candidate.ID]
		switch {
		case !ok:
			t.Errorf("application %s refers to candidate %s, which does not exist", a.ID, a.Candidate.ID)
		case a.Candidate.Name != cd.Name:
			t.Errorf("application %s embeds candidate name %q; the candidate is named %q", a.ID, a.Candidate.Name, cd.Name)
		case !slices.Contains(cd.ApplicationIDs, a.ID):
			t.Errorf("candidate %s does not list its application %s: %v", cd.ID, a.ID, cd.ApplicationIDs)
		}
		if all || m.touched[a.ID] {
			var hist []ashby.ApplicationHistoryItem
			if _, err := c.Call(ctx, "application.listHistory", map[string]any{"applicationId": a.ID}, &hist); err != nil {
				t.Errorf("application.listHistory %s: %v", a.ID, err)
			} else if len(hist) == 0 || hist[len(hist)-1].StageID != a.CurrentInterviewStage.ID {
				t.Errorf("application %s is in stage %s, but its history is %+v", a.ID, a.CurrentInterviewStage.ID, hist)
			}
		}
	}
	m.pendingAppCreate = map[string]bool{}
	for id, ma := range m.apps {
		if !seen[id] {
			t.Errorf("acknowledged application %s (candidate %s) is missing", id, ma.cand)
		}
	}
	for id, mc := range m.cands {
		for _, appID := range byID[id].ApplicationIDs {
			if !seen[appID] {
				t.Errorf("candidate %s lists application %s, which does not exist", id, appID)
			}
		}
		if !all && !m.touched[id] {
			continue
		}
		var notes []ashby.Note
		if _, err := c.Call(ctx, "candidate.listNotes", map[string]any{"candidateId": id}, &notes); err != nil {
			t.Errorf("candidate.listNotes %s: %v", id, err)
			continue
		}
		got := map[string]int{}
		for _, n := range notes {
			got[n.Content]++
			if !mc.tried[n.Content] || got[n.Content] > 1 {
				t.Errorf("candidate %s has note %q, which no client sent (or twice)", id, n.Content)
			}
		}
		for n := range mc.notes {
			if got[n] == 0 {
				t.Errorf("acknowledged note %q of candidate %s is missing", n, id)
			}
		}
		for n := range got {
			mc.notes[n] = true
		}
	}
}
