package api

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store/storetest"
)

// Every path that rewrites an application runs at once, against the same
// applications: stage moves (archive and unarchive among them) race
// candidate, job and user updates, stage renames, tag archiving, hiring
// team changes and feedback. After each round every acknowledged change
// must be present, and each application's current stage must be the last
// entry of its history. On PostgreSQL under READ COMMITTED, a fan-out that
// wrote back documents it had read without a lock lost stage moves.
func TestConcurrentWritersLoseNoAcknowledgedChange(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine.String(), func(t *testing.T) {
			db := storetest.Open(t, engine)
			s, fs := newTHService(t, db, 0)
			o := newTHOrg(t, db, s, fs, "race")
			newRaceRun(t, o).run(3)
		})
	}
}

const raceApps = 24

type raceRun struct {
	t       *testing.T
	o       *thOrg
	apps    []ashby.Application
	cands   []string
	active  []ashby.InterviewStage
	archive ashby.InterviewStage
	reason  string
	form    string
	role    string

	// What was acknowledged, per record; each is written by one goroutine
	// at a time, so the last acknowledged value is the expected one.
	stage      map[string]string // application → stage id
	moves      map[string]int    // application → acknowledged moves
	bob        map[string]bool   // application → bob on its team
	candName   map[string]string
	jobTitle   string
	userFirst  map[string]string
	stageTitle map[string]string
	feedback   []string
	tags       []string // archived tags
}

func newRaceRun(t *testing.T, o *thOrg) *raceRun {
	r := &raceRun{t: t, o: o, stage: map[string]string{}, moves: map[string]int{}, bob: map[string]bool{},
		candName: map[string]string{}, userFirst: map[string]string{o.ada.ID: o.ada.FirstName, o.bob.ID: o.bob.FirstName},
		stageTitle: map[string]string{}, jobTitle: "Backend Engineer"}
	for _, st := range o.stages {
		switch st.Type {
		case ashby.StageActive, ashby.StageLead:
			r.active = append(r.active, st)
			r.stageTitle[st.ID] = st.Title
		case ashby.StageArchived:
			r.archive = st
		}
	}
	if len(r.active) < 3 || r.archive.ID == "" {
		t.Fatalf("the default plan needs three active stages and an archived one: %+v", o.stages)
	}
	var reasons []ashby.ArchiveReason
	o.must("archiveReason.list", map[string]any{}, &reasons)
	r.reason = reasons[0].ID
	var forms []ashby.FeedbackFormDefinition
	o.must("feedbackFormDefinition.list", map[string]any{}, &forms)
	for _, f := range forms {
		if f.IsDefaultForm {
			r.form = f.ID
		}
	}
	var roles []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	o.must("hiringTeamRole.list", map[string]any{"namesOnly": false}, &roles)
	r.role = roles[0].ID
	r.apps = append(r.apps, o.app)
	for i := 1; i < raceApps; i++ {
		r.apps = append(r.apps, o.newApplication(fmt.Sprintf("Candidate %d", i), fmt.Sprintf("c%d@race.example", i), o.app.Job.ID))
	}
	for _, a := range r.apps {
		r.cands = append(r.cands, a.Candidate.ID)
		r.candName[a.Candidate.ID] = a.Candidate.Name
		r.stage[a.ID] = a.CurrentInterviewStage.ID
	}
	return r
}

func (r *raceRun) run(rounds int) {
	for round := range rounds {
		r.round(round)
		r.check(round)
		if r.t.Failed() {
			return
		}
	}
}

// call invokes an endpoint; an error fails the test (every writer here
// makes valid calls, so each must be acknowledged).
func (r *raceRun) call(endpoint string, req, out any) {
	if err := r.o.invoke(endpoint, req, out); err != nil {
		r.t.Errorf("%s %v: %v", endpoint, req, err)
	}
}

func (r *raceRun) round(round int) {
	var wg sync.WaitGroup
	var mu sync.Mutex // guards the acknowledged values
	goDo := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	tag := struct {
		ID string `json:"id"`
	}{}
	r.call("candidateTag.create", map[string]any{"title": fmt.Sprintf("Round %d", round)}, &tag)

	for i, app := range r.apps {
		rng := rand.New(rand.NewPCG(uint64(round), uint64(i)))
		// The stage mover: four moves, archiving and unarchiving.
		goDo(func() {
			for m := range 4 {
				mu.Lock()
				cur := r.stage[app.ID]
				mu.Unlock()
				req := map[string]any{"applicationId": app.ID}
				next := r.active[rng.IntN(len(r.active))].ID
				if m == 1 && cur != r.archive.ID {
					next = r.archive.ID
					req["archiveReasonId"] = r.reason
				}
				if next == cur {
					next = r.active[(slices.IndexFunc(r.active, func(s ashby.InterviewStage) bool { return s.ID == cur })+1)%len(r.active)].ID
				}
				req["interviewStageId"] = next
				var got ashby.Application
				if err := r.o.invoke("application.changeStage", req, &got); err != nil {
					r.t.Errorf("changeStage %v: %v", req, err)
					continue
				}
				if got.CurrentInterviewStage.ID != next {
					r.t.Errorf("changeStage to %s answered stage %s", next, got.CurrentInterviewStage.ID)
				}
				mu.Lock()
				r.stage[app.ID] = next
				r.moves[app.ID]++
				mu.Unlock()
			}
		})
		// The application's own hiring team: bob joins or leaves.
		goDo(func() {
			mu.Lock()
			on := r.bob[app.ID]
			mu.Unlock()
			op := "hiringTeam.addMember"
			if on {
				op = "hiringTeam.removeMember"
			}
			if err := r.o.invoke(op, map[string]any{"applicationId": app.ID, "teamMemberId": r.o.bob.ID, "roleId": r.role}, nil); err != nil {
				r.t.Errorf("%s on %s: %v", op, app.ID, err)
				return
			}
			mu.Lock()
			r.bob[app.ID] = !on
			mu.Unlock()
		})
		// Feedback on every third application.
		if i%3 == 0 {
			goDo(func() {
				var fb struct {
					SubmittedFormInstance struct {
						ID string `json:"id"`
					} `json:"submittedFormInstance"`
				}
				r.call("applicationFeedback.submit", map[string]any{"applicationId": app.ID, "formDefinitionId": r.form, "userId": r.o.ada.ID,
					"feedbackForm": map[string]any{"fieldSubmissions": []any{
						map[string]any{"path": "overall_recommendation", "value": map[string]any{"score": 3}},
						map[string]any{"path": "feedback", "value": fmt.Sprintf("Round %d", round)}}}}, &fb)
				mu.Lock()
				r.feedback = append(r.feedback, fb.SubmittedFormInstance.ID)
				mu.Unlock()
			})
		}
	}
	// Candidates are renamed and tagged; the round's tag is then archived.
	goDo(func() {
		for v := range 2 {
			for i, c := range r.cands {
				name := fmt.Sprintf("Candidate %d r%d v%d", i, round, v)
				r.call("candidate.update", map[string]any{"candidateId": c, "name": name}, nil)
				mu.Lock()
				r.candName[c] = name
				mu.Unlock()
			}
		}
	})
	goDo(func() {
		for _, c := range r.cands[:raceApps/2] {
			r.call("candidate.addTag", map[string]any{"candidateId": c, "tagId": tag.ID}, nil)
		}
		r.call("candidateTag.archive", map[string]any{"tagId": tag.ID}, nil)
		mu.Lock()
		r.tags = append(r.tags, tag.ID)
		mu.Unlock()
	})
	goDo(func() {
		for v := range 6 {
			title := fmt.Sprintf("Backend Engineer r%d v%d", round, v)
			r.call("job.update", map[string]any{"jobId": r.o.app.Job.ID, "title": title}, nil)
			mu.Lock()
			r.jobTitle = title
			mu.Unlock()
		}
	})
	goDo(func() {
		for v := range 3 {
			for _, u := range []ashby.User{r.o.ada, r.o.bob} {
				first := fmt.Sprintf("%s r%d v%d", u.FirstName, round, v)
				r.call("user.update", map[string]any{"userId": u.ID, "firstName": first}, nil)
				mu.Lock()
				r.userFirst[u.ID] = first
				mu.Unlock()
			}
		}
	})
	goDo(func() {
		for v := range 2 {
			for _, st := range r.active {
				title := fmt.Sprintf("%s r%d v%d", st.Title, round, v)
				r.call("interviewStage.update", map[string]any{"interviewStageId": st.ID, "title": title}, nil)
				mu.Lock()
				r.stageTitle[st.ID] = title
				mu.Unlock()
			}
		}
	})
	// The job's team: ada joins (and leaves) the job, which rewrites its
	// applications in progress.
	goDo(func() {
		for _, op := range []string{"hiringTeam.addMember", "hiringTeam.removeMember", "hiringTeam.addMember"} {
			r.call(op, map[string]any{"jobId": r.o.app.Job.ID, "teamMemberId": r.o.ada.ID, "roleId": r.role}, nil)
		}
	})
	wg.Wait()
}

func (r *raceRun) check(round int) {
	t := r.t
	t.Helper()
	o := r.o
	for _, a := range r.apps {
		var app ashby.Application
		o.must("application.info", map[string]any{"applicationId": a.ID}, &app)
		want := r.stage[a.ID]
		if app.CurrentInterviewStage.ID != want {
			t.Errorf("round %d: application %s is in stage %q, but its last acknowledged move was to %q", round, a.ID, app.CurrentInterviewStage.Title, want)
		}
		if app.CurrentInterviewStage.Title != r.stageTitleOf(want) {
			t.Errorf("round %d: application %s embeds stage title %q, want %q", round, a.ID, app.CurrentInterviewStage.Title, r.stageTitleOf(want))
		}
		if archived := want == r.archive.ID; archived != (app.Status == ashby.ApplicationArchived) || archived != (app.ArchiveReason != nil) {
			t.Errorf("round %d: application %s status %s (reason %v) in stage %s", round, a.ID, app.Status, app.ArchiveReason, want)
		}
		var hist []ashby.ApplicationHistoryItem
		o.must("application.listHistory", map[string]any{"applicationId": a.ID}, &hist)
		if len(hist) == 0 || hist[len(hist)-1].StageID != app.CurrentInterviewStage.ID {
			t.Errorf("round %d: application %s is in stage %s but its history ends %+v", round, a.ID, app.CurrentInterviewStage.ID, hist[len(hist)-1:])
		}
		if len(hist) != 1+r.moves[a.ID] {
			t.Errorf("round %d: application %s has %d history entries after %d acknowledged moves", round, a.ID, len(hist), r.moves[a.ID])
		}
		if app.Candidate.Name != r.candName[app.Candidate.ID] {
			t.Errorf("round %d: application %s embeds candidate name %q, want %q", round, a.ID, app.Candidate.Name, r.candName[app.Candidate.ID])
		}
		if app.Job.Title != r.jobTitle {
			t.Errorf("round %d: application %s embeds job title %q, want %q", round, a.ID, app.Job.Title, r.jobTitle)
		}
		hasBob := false
		for _, m := range app.HiringTeam {
			if m.UserID == o.bob.ID {
				hasBob = true
			}
			if first, ok := r.userFirst[m.UserID]; ok && m.FirstName != first {
				t.Errorf("round %d: application %s embeds team member %s as %q, want %q", round, a.ID, m.UserID, m.FirstName, first)
			}
		}
		if hasBob != r.bob[a.ID] {
			t.Errorf("round %d: application %s has bob on its team: %v, but the last acknowledged change says %v", round, a.ID, hasBob, r.bob[a.ID])
		}
	}
	for _, c := range r.cands {
		var cand ashby.Candidate
		o.must("candidate.info", map[string]any{"id": c}, &cand)
		if cand.Name != r.candName[c] {
			t.Errorf("round %d: candidate %s is named %q, want %q", round, c, cand.Name, r.candName[c])
		}
		for _, tg := range cand.Tags {
			if slices.Contains(r.tags, tg.ID) && !tg.IsArchived {
				t.Errorf("round %d: candidate %s embeds tag %s as not archived after its archiving was acknowledged", round, c, tg.ID)
			}
		}
	}
	var fbs []ashby.ApplicationFeedback
	o.must("applicationFeedback.list", map[string]any{}, &fbs)
	got := map[string]ashby.ApplicationFeedback{}
	for _, f := range fbs {
		got[f.ID] = f
	}
	for _, id := range r.feedback {
		f, ok := got[id]
		if !ok {
			t.Errorf("round %d: acknowledged feedback %s is missing", round, id)
			continue
		}
		if f.SubmittedByUser.FirstName != r.userFirst[o.ada.ID] {
			t.Errorf("round %d: feedback %s embeds its author as %q, want %q", round, id, f.SubmittedByUser.FirstName, r.userFirst[o.ada.ID])
		}
	}
	var job ashby.Job
	o.must("job.info", map[string]any{"id": r.o.app.Job.ID}, &job)
	if job.Title != r.jobTitle {
		t.Errorf("round %d: job title %q, want %q", round, job.Title, r.jobTitle)
	}
}

func (r *raceRun) stageTitleOf(id string) string {
	if id == r.archive.ID {
		return r.archive.Title
	}
	return r.stageTitle[id]
}
