package jobboard

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"encoding/xml"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/ashlarhq/ashlar/ashby"
)

// The XML rendering carries exactly the JSON's content, HTML and CDATA
// terminators included.
func TestFeedRenderingsAgree(t *testing.T) {
	lo, hi := 70000.0, 90000.0
	doc := ashby.FeedDocument{Jobs: []ashby.FeedJob{{
		ID: "p1", OrganizationID: "o1", OrganizationName: "Acme & Sons <Ltd>", Title: "Ingénieur·e", DepartmentName: "R&D", TeamName: "Core",
		DescriptionPlain: "Pay ]]> hidden", DescriptionHTML: "<p>Build <b>things</b> ]]> now &amp; then</p>", EmploymentType: "FullTime",
		ExternalLink: "https://example.com/jobs/acme/p1/application?x=1&y=2", UpdatedAt: "2026-11-27T10:00:00.000Z", PublishedAt: "2026-11-26T10:00:00.000Z",
		Locations: []ashby.FeedLocation{{LocationName: "Berlin", IsPrimaryLocation: true,
			Address: &ashby.FeedAddress{PostalAddress: ashby.FeedPostalAddress{AddressLocality: "Berlin", AddressCountry: "Germany"}}},
			{LocationName: "Remote", IsRemote: true}},
		CompensationTiers: []ashby.FeedCompensationTier{{ID: "t1", Title: "Zone A", TierSummary: "€70K – €90K", Components: []ashby.FeedCompensationComponent{
			{CompensationType: "Salary", Interval: "1 YEAR", CurrencyCode: "EUR", MinValue: &lo, MaxValue: &hi, Summary: "€70K – €90K"},
			{CompensationType: "Bonus", Interval: "1 YEAR", Summary: "Offers Bonus"}}}},
	}, {ID: "p2", OrganizationID: "o2", OrganizationName: "B", Title: "T", DepartmentName: "", EmploymentType: "Contract", Locations: []ashby.FeedLocation{}}}}
	j, err := render(doc)
	if err != nil {
		t.Fatal(err)
	}
	x, err := renderXML(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(x.body), "<?xml") || !strings.Contains(string(x.body), "<![CDATA[<p>Build <b>things</b>") {
		t.Fatalf("XML:\n%s", x.body)
	}
	var fromJSON, fromXML ashby.FeedDocument
	if err := json.Unmarshal(j.body, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(x.body, &fromXML); err != nil {
		t.Fatal(err)
	}
	fromXML.XMLName = xml.Name{}
	fromXML.Jobs[1].Locations = []ashby.FeedLocation{} // XML has no empty lists
	if !reflect.DeepEqual(fromJSON, doc) || !reflect.DeepEqual(fromXML, doc) {
		t.Fatalf("round trip:\nJSON %+v\nXML  %+v\nwant %+v", fromJSON, fromXML, doc)
	}
	for _, r := range []*rendered{j, x} {
		zr, err := gzip.NewReader(bytes.NewReader(r.gz))
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := io.ReadAll(zr)
		if !bytes.Equal(plain, r.body) || r.etag == r.etagGzip || r.etag == "" {
			t.Fatal("gzip variant or ETags wrong")
		}
	}
	if j.etag == x.etag {
		t.Fatal("JSON and XML share an ETag")
	}
}

// The XML feed's element names are the partner feed schema's, checked
// against a literal document rather than the struct tags that wrote it.
func TestXMLFeedElementNames(t *testing.T) {
	lo := 100000.0
	doc := ashby.FeedDocument{Jobs: []ashby.FeedJob{{ID: "p1", OrganizationID: "o1", OrganizationName: "Acme", Title: "Engineer", DepartmentName: "R&D", TeamName: "Core",
		DescriptionPlain: "Build things", DescriptionHTML: "<p>Build things</p>", EmploymentType: "FullTime", ExternalLink: "https://acme.example/jobs/p1",
		UpdatedAt: "2026-11-27T10:00:00.000Z", PublishedAt: "2026-11-26T10:00:00.000Z",
		Locations: []ashby.FeedLocation{{LocationName: "Berlin", IsPrimaryLocation: true,
			Address: &ashby.FeedAddress{PostalAddress: ashby.FeedPostalAddress{AddressLocality: "Berlin", AddressCountry: "Germany"}}}},
		CompensationTiers: []ashby.FeedCompensationTier{{ID: "t1", TierSummary: "€100K", Components: []ashby.FeedCompensationComponent{
			{CompensationType: "Salary", Interval: "1 YEAR", CurrencyCode: "EUR", MinValue: &lo, Summary: "€100K"}}}}}}}
	x, err := renderXML(doc)
	if err != nil {
		t.Fatal(err)
	}
	const want = `<?xml version="1.0" encoding="UTF-8"?>
<jobs>
  <job>
    <id>p1</id>
    <organizationId>o1</organizationId>
    <organizationName>Acme</organizationName>
    <title>Engineer</title>
    <departmentName>R&amp;D</departmentName>
    <teamName>Core</teamName>
    <descriptionPlain><![CDATA[Build things]]></descriptionPlain>
    <descriptionHtml><![CDATA[<p>Build things</p>]]></descriptionHtml>
    <employmentType>FullTime</employmentType>
    <externalLink>https://acme.example/jobs/p1</externalLink>
    <updatedAt>2026-11-27T10:00:00.000Z</updatedAt>
    <publishedAt>2026-11-26T10:00:00.000Z</publishedAt>
    <locations>
      <location>
        <locationName>Berlin</locationName>
        <address>
          <postalAddress>
            <addressLocality>Berlin</addressLocality>
            <addressCountry>Germany</addressCountry>
          </postalAddress>
        </address>
        <isRemote>false</isRemote>
        <isPrimaryLocation>true</isPrimaryLocation>
      </location>
    </locations>
    <compensationTiers>
      <compensationTier>
        <id>t1</id>
        <tierSummary>€100K</tierSummary>
        <components>
          <component>
            <compensationType>Salary</compensationType>
            <interval>1 YEAR</interval>
            <currencyCode>EUR</currencyCode>
            <minValue>100000</minValue>
            <summary>€100K</summary>
          </component>
        </components>
      </compensationTier>
    </compensationTiers>
  </job>
</jobs>`
	if got := strings.TrimSpace(string(x.body)); got != want {
		t.Fatalf("XML feed:\n%s\nwant:\n%s", got, want)
	}
}
