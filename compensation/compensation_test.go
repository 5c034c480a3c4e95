package compensation

import (
	"fmt"
	"testing"

	"github.com/ashlarhq/ashlar/ashby"
)

func f(v float64) *float64 { return &v }
func s(v string) *string   { return &v }

func TestSummariesMatchAshbysExamples(t *testing.T) {
	n := 0
	id := func() string { n++; return fmt.Sprint("id", n) }
	tiers, err := Build("compensationTiers", []TierInput{
		{Title: s("Zone A"), Components: []ComponentInput{
			{CompensationType: "Salary", Interval: "1 YEAR", CurrencyCode: s("eur"), MinValue: f(72000), MaxValue: f(100000)},
			{CompensationType: "EquityPercentage", Interval: "NONE", MinValue: f(1), MaxValue: f(1.4)},
		}},
		{Title: s("Zone B"), Components: []ComponentInput{
			{CompensationType: "Salary", Interval: "1 YEAR", CurrencyCode: s("EUR"), MinValue: f(95000), MaxValue: f(270000)},
			{CompensationType: "EquityPercentage", Interval: "NONE", MinValue: f(1.8), MaxValue: f(2.511)},
			{CompensationType: "Bonus", Interval: "1 YEAR"},
			{CompensationType: "Bonus", Interval: "1 YEAR", Label: s("Commuter Benefits")},
		}},
	}, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := tiers[0].TierSummary; got != "€72K – €100K • 1% – 1.4%" {
		t.Errorf("tier A: %q", got)
	}
	if got := tiers[1].TierSummary; got != "€95K – €270K • 1.8% – 2.511% • Offers Bonus • Commuter Benefits" {
		t.Errorf("tier B: %q", got)
	}
	if got := TiersSummary(tiers); got != "€72K – €270K • 1% – 2.511% • Offers Bonus • Commuter Benefits" {
		t.Errorf("whole: %q", got)
	}
	if got := SalarySummary(tiers); got != "€72K – €270K" {
		t.Errorf("salary: %q", got)
	}
	hourly := ashby.CompensationComponent{CompensationType: "Salary", Interval: "1 HOUR", CurrencyCode: s("USD"), MinValue: f(45.5), MaxValue: f(60)}
	if got := Summary(hourly); got != "$45.5 – $60 per hour" {
		t.Errorf("hourly: %q", got)
	}
	if got := Summary(ashby.CompensationComponent{CompensationType: "EquityCashValue", Interval: "1 YEAR", CurrencyCode: s("USD"), MinValue: f(1500000)}); got != "$1.5M+" {
		t.Errorf("min only: %q", got)
	}
}

func TestBuildRejectsBadComponents(t *testing.T) {
	id := func() string { return "x" }
	for _, c := range []ComponentInput{
		{CompensationType: "Salary", Interval: "1 YEAR", MinValue: f(1)},                                         // no currency
		{CompensationType: "Salary", Interval: "1 YEAR", CurrencyCode: s("DOLLARS"), MinValue: f(1)},             // bad code
		{CompensationType: "Salary", Interval: "1 YEAR", CurrencyCode: s("USD"), MinValue: f(9), MaxValue: f(1)}, // inverted
		{CompensationType: "EquityPercentage", Interval: "NONE", MaxValue: f(150)},
		{CompensationType: "Stock", Interval: "NONE"},
		{CompensationType: "Salary", Interval: "YEARLY"},
	} {
		if _, err := Build("compensationTiers", []TierInput{{Components: []ComponentInput{c}}}, id); err == nil {
			t.Errorf("accepted %+v", c)
		} else if e, ok := ashby.AsError(err); !ok || e.Code != ashby.CodeInvalidInput {
			t.Errorf("want invalid_input, got %v", err)
		}
	}
}
