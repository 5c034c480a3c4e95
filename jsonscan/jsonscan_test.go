package jsonscan

import (
	"encoding/json"
	"testing"
)

func TestMembers(t *testing.T) {
	doc := []byte(`{"id":"a1","name":"Ada \"the first\" Lovelace","n":12.5,"ok":true,"none":null,"nested":{"x":[1,{"y":"}"}],"z":"\u00e9"},"list":["a","b"],"last":""}`)
	got := map[string]string{}
	if err := Members(doc, func(name, value []byte) bool {
		got[string(name)] = string(value)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"id": `"a1"`, "name": `"Ada \"the first\" Lovelace"`, "n": "12.5", "ok": "true", "none": "null",
		"nested": `{"x":[1,{"y":"}"}],"z":"\u00e9"}`, "list": `["a","b"]`, "last": `""`}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %s, want %s", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("members %v", got)
	}
	name, err := String([]byte(want["name"]))
	if err != nil || name != `Ada "the first" Lovelace` {
		t.Errorf("String: %q %v", name, err)
	}
	var z string
	Members([]byte(want["nested"]), func(n, v []byte) bool {
		if string(n) == "z" {
			z, err = String(v)
		}
		return true
	})
	if z != "é" || err != nil {
		t.Errorf("escaped string: %q %v", z, err)
	}
	// Stopping early, empty objects, and what is not an object.
	n := 0
	Members(doc, func(name, value []byte) bool { n++; return n < 2 })
	if n != 2 {
		t.Errorf("stopped after %d", n)
	}
	if err := Members([]byte(` { } `), func(n, v []byte) bool { t.Error("a member of {}"); return true }); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{``, `[]`, `{"a"}`, `{"a":`, `{"a":1`, `{"a":"x}`, `{"a":{"b":1}`, `{1:2}`} {
		if err := Members([]byte(bad), func(n, v []byte) bool { return true }); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if s, err := String([]byte("null")); s != "" || err != nil {
		t.Errorf("null: %q %v", s, err)
	}
}

// Whatever encoding/json writes, Members finds the same members.
func FuzzMembers(f *testing.F) {
	f.Add(`{"a":"b","c":[1,2,{"d":null}],"e":{"f":"\"}"}}`)
	f.Fuzz(func(t *testing.T, s string) {
		var v map[string]any
		if json.Unmarshal([]byte(s), &v) != nil {
			return
		}
		doc, _ := json.Marshal(v)
		n := 0
		if err := Members(doc, func(name, value []byte) bool {
			n++
			var x any
			if json.Unmarshal(value, &x) != nil {
				t.Fatalf("%s: member %s has value %s", doc, name, value)
			}
			return true
		}); err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		if n != len(v) {
			t.Fatalf("%s: %d members, want %d", doc, n, len(v))
		}
	})
}
