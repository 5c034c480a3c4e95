// Package compensation builds compensation tiers and computes their
// human-readable summaries the way Ashby renders them on jobs, postings
// and the public job board ("€72K – €100K • 1% – 2.5% • Offers Bonus").
package compensation

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
)

// Types and intervals Ashby accepts.
var (
	Types     = []string{"Salary", "EquityPercentage", "EquityCashValue", "Commission", "Bonus"}
	Intervals = []string{"NONE", "1 TIME", "1 HOUR", "1 DAY", "1 WEEK", "2 WEEK", "1 MONTH", "2 MONTH", "3 MONTH", "6 MONTH", "0.5 MONTH", "1 YEAR"}
)

// ComponentInput is a component as clients send it.
type ComponentInput struct {
	CompensationType string   `json:"compensationType" required:"true" enum:"Salary,EquityPercentage,EquityCashValue,Commission,Bonus"`
	Interval         string   `json:"interval" required:"true" enum:"NONE,1 TIME,1 HOUR,1 DAY,1 WEEK,2 WEEK,1 MONTH,2 MONTH,3 MONTH,6 MONTH,0.5 MONTH,1 YEAR"`
	CurrencyCode     *string  `json:"currencyCode,omitempty"`
	Label            *string  `json:"label,omitempty"`
	MinValue         *float64 `json:"minValue"`
	MaxValue         *float64 `json:"maxValue"`
}

// TierInput is a tier as clients send it.
type TierInput struct {
	Title                 *string          `json:"title,omitempty"`
	AdditionalInformation *string          `json:"additionalInformation,omitempty" maxLength:"text"`
	Components            []ComponentInput `json:"components" required:"true"`
}

// Build validates tiers and returns them with ids and summaries. field
// names the request field for error messages ("compensationTiers").
func Build(field string, in []TierInput, newID func() string) ([]ashby.CompensationTier, error) {
	out := make([]ashby.CompensationTier, 0, len(in))
	for i, t := range in {
		tier := ashby.CompensationTier{ID: newID(), Title: t.Title, AdditionalInformation: t.AdditionalInformation, Components: []ashby.CompensationComponent{}}
		for j, c := range t.Components {
			path := fmt.Sprintf("%s[%d].components[%d]", field, i, j)
			comp, err := buildComponent(path, c)
			if err != nil {
				return nil, err
			}
			comp.ID = newID()
			tier.Components = append(tier.Components, comp)
		}
		tier.TierSummary = TierSummary(tier.Components)
		out = append(out, tier)
	}
	return out, nil
}

func buildComponent(path string, c ComponentInput) (ashby.CompensationComponent, error) {
	if !slices.Contains(Types, c.CompensationType) {
		return ashby.CompensationComponent{}, ashby.InvalidInput(path+".compensationType", "Invalid compensationType %q", c.CompensationType)
	}
	if !slices.Contains(Intervals, c.Interval) {
		return ashby.CompensationComponent{}, ashby.InvalidInput(path+".interval", "Invalid interval %q", c.Interval)
	}
	for _, v := range []*float64{c.MinValue, c.MaxValue} {
		if v != nil && (*v < 0 || math.IsNaN(*v) || math.IsInf(*v, 0)) {
			return ashby.CompensationComponent{}, ashby.InvalidInput(path, "minValue and maxValue must be non-negative numbers")
		}
	}
	if c.MinValue != nil && c.MaxValue != nil && *c.MinValue > *c.MaxValue {
		return ashby.CompensationComponent{}, ashby.InvalidInput(path, "minValue %v is above maxValue %v", *c.MinValue, *c.MaxValue)
	}
	comp := ashby.CompensationComponent{CompensationType: c.CompensationType, Interval: c.Interval, Label: c.Label, MinValue: c.MinValue, MaxValue: c.MaxValue}
	if c.CompensationType == "EquityPercentage" {
		if c.MaxValue != nil && *c.MaxValue > 100 {
			return ashby.CompensationComponent{}, ashby.InvalidInput(path+".maxValue", "An equity percentage cannot exceed 100")
		}
	} else if c.CurrencyCode != nil && *c.CurrencyCode != "" {
		code := strings.ToUpper(strings.TrimSpace(*c.CurrencyCode))
		if len(code) != 3 || strings.Trim(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			return ashby.CompensationComponent{}, ashby.InvalidInput(path+".currencyCode", "currencyCode must be an ISO 4217 code such as USD")
		}
		comp.CurrencyCode = &code
	} else if c.MinValue != nil || c.MaxValue != nil {
		return ashby.CompensationComponent{}, ashby.InvalidInput(path+".currencyCode", "A %s amount needs a currencyCode", c.CompensationType)
	}
	comp.Summary = Summary(comp)
	return comp, nil
}

var symbols = map[string]string{"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CAD": "CA$", "AUD": "A$", "NZD": "NZ$",
	"CHF": "CHF ", "SEK": "SEK ", "NOK": "NOK ", "DKK": "DKK ", "PLN": "PLN ", "BRL": "R$", "MXN": "MX$", "SGD": "SGD ", "ILS": "₪", "KRW": "₩", "CNY": "CN¥"}

var intervalSuffix = map[string]string{"1 HOUR": " per hour", "1 DAY": " per day", "1 WEEK": " per week", "2 WEEK": " every 2 weeks",
	"1 MONTH": " per month", "2 MONTH": " every 2 months", "3 MONTH": " per quarter", "6 MONTH": " every 6 months", "0.5 MONTH": " twice a month"}

// Summary renders one component: a range ("€72K – €100K", "1% – 2.5%",
// "$45 – $60 per hour"), or "Offers Bonus" (or its label) without amounts.
func Summary(c ashby.CompensationComponent) string {
	if c.MinValue == nil && c.MaxValue == nil {
		if c.Label != nil && strings.TrimSpace(*c.Label) != "" {
			return strings.TrimSpace(*c.Label)
		}
		return "Offers " + offerNoun(c.CompensationType)
	}
	format := func(v float64) string {
		if c.CompensationType == "EquityPercentage" {
			return trimFloat(v, 3) + "%"
		}
		code := ""
		if c.CurrencyCode != nil {
			code = *c.CurrencyCode
		}
		sym, ok := symbols[code]
		if !ok && code != "" {
			sym = code + " "
		}
		return sym + abbreviate(v)
	}
	var s string
	switch {
	case c.MinValue != nil && c.MaxValue != nil && *c.MinValue == *c.MaxValue:
		s = format(*c.MinValue)
	case c.MinValue != nil && c.MaxValue != nil:
		s = format(*c.MinValue) + " – " + format(*c.MaxValue)
	case c.MinValue != nil:
		s = format(*c.MinValue) + "+"
	default:
		s = "Up to " + format(*c.MaxValue)
	}
	return s + intervalSuffix[c.Interval]
}

func offerNoun(t string) string {
	switch t {
	case "EquityPercentage", "EquityCashValue":
		return "Equity"
	}
	return t
}

// abbreviate writes amounts as Ashby does: 72000 → 72K, 1500000 → 1.5M,
// 45.5 → 45.5.
func abbreviate(v float64) string {
	switch {
	case v >= 1e6:
		return trimFloat(v/1e6, 2) + "M"
	case v >= 1e3:
		return trimFloat(v/1e3, 1) + "K"
	}
	return trimFloat(v, 2)
}

func trimFloat(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// TierSummary joins a tier's component summaries with " • ".
func TierSummary(cs []ashby.CompensationComponent) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		parts = append(parts, c.Summary)
	}
	return strings.Join(parts, " • ")
}

// SummaryComponents merges the tiers' components of the same type,
// interval and currency into one range spanning every tier, in the order
// they first appear.
func SummaryComponents(tiers []ashby.CompensationTier) []ashby.CompensationComponent {
	type key struct{ typ, interval, currency, label string }
	var order []key
	merged := map[key]*ashby.CompensationComponent{}
	for _, t := range tiers {
		for _, c := range t.Components {
			k := key{typ: c.CompensationType, interval: c.Interval}
			if c.CurrencyCode != nil {
				k.currency = *c.CurrencyCode
			}
			if c.MinValue == nil && c.MaxValue == nil && c.Label != nil {
				k.label = *c.Label
			}
			m, ok := merged[k]
			if !ok {
				cp := c
				cp.ID = ""
				merged[k] = &cp
				order = append(order, k)
				continue
			}
			m.MinValue = pick(m.MinValue, c.MinValue, math.Min)
			m.MaxValue = pick(m.MaxValue, c.MaxValue, math.Max)
		}
	}
	out := make([]ashby.CompensationComponent, 0, len(order))
	for _, k := range order {
		c := *merged[k]
		c.Summary = Summary(c)
		out = append(out, c)
	}
	return out
}

func pick(a, b *float64, f func(x, y float64) float64) *float64 {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	v := f(*a, *b)
	return &v
}

// TiersSummary is the whole compensation in one line, or "" when there is none.
func TiersSummary(tiers []ashby.CompensationTier) string {
	return TierSummary(SummaryComponents(tiers))
}

// SalarySummary is the salary-only summary (the public job board's
// scrapeableCompensationSalarySummary), or "" when no tier has a salary.
func SalarySummary(tiers []ashby.CompensationTier) string {
	var salaries []ashby.CompensationComponent
	for _, c := range SummaryComponents(tiers) {
		if c.CompensationType == "Salary" && (c.MinValue != nil || c.MaxValue != nil) {
			salaries = append(salaries, c)
		}
	}
	return TierSummary(salaries)
}
