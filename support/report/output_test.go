package report

import (
	"bytes"
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// allFixtures is every valid fixture, in run order.
var allFixtures = []string{
	"statuses.json", "tags.json", "shard-a.json", "shard-b.json",
	"flaky-1.json", "flaky-2.json", "flaky-3.json",
}

func fullReport(t *testing.T) *Report {
	t.Helper()
	r := build(t, allFixtures...)
	r.Title = "Gateway contract | test report"
	r.GeneratedAt = "2026-01-02 for the golden file"
	return r
}

func TestMarkdownGolden(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, fullReport(t).WriteMarkdown(&buf))
	golden := filepath.Join("testdata", "golden", "traceability.md")
	if *update {
		require.NoError(t, os.WriteFile(golden, buf.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test ./support/report -run TestMarkdownGolden -update")
	assert.Equal(t, string(want), buf.String())

	// the same input renders the same bytes
	var again bytes.Buffer
	require.NoError(t, fullReport(t).WriteMarkdown(&again))
	assert.Equal(t, buf.String(), again.String())
}

func TestJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		files []string
	}{
		{"everything", allFixtures},
		{"no runs", nil},
		{"flaky only", []string{"flaky-1.json", "flaky-2.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := build(t, tt.files...)
			var buf bytes.Buffer
			require.NoError(t, r.WriteJSON(&buf))
			got, err := ReadJSON(bytes.NewReader(buf.Bytes()))
			require.NoError(t, err)
			assert.Equal(t, r, got)
			var again bytes.Buffer
			require.NoError(t, got.WriteJSON(&again))
			assert.Equal(t, buf.String(), again.String())
		})
	}
}

func TestReadJSONErrors(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"other schema", `{"schemaVersion": 2}`, "schema version 2, want 1"},
		{"unknown field", `{"schemaVersion": 1, "surprise": true}`, "unknown field"},
		{"not json", `{`, "read traceability json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadJSON(strings.NewReader(tt.doc))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestHTMLContent(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, fullReport(t).WriteHTML(&buf))
	page := buf.String()
	for _, want := range []string{
		"<details open><summary>Latest run",
		"&lt;script&gt;alert(1)&lt;/script&gt;", // attachment text is escaped
		"<pre>{&#34;results&#34;:[{&#34;status&#34;:&#34;created&#34;}]}</pre>",
		`src="data:image/png;base64,`,
		"the fallback namespace is created too late by the harness (late-fallback-namespace)",
		"no reason given",
		"Traceability gate: FAILED",
		`id="BR-GATEWAY-001"`,
		"Run 1 (<code>testdata/cucumber/flaky-1.json</code>): failed",
	} {
		assert.Contains(t, page, want)
	}
	for _, banned := range []string{"<script", "http://", "https://", "@import", "<link"} {
		assert.NotContains(t, page, banned, "the page must be self-contained")
	}
	// quarantined scenarios come before everything but the summary
	assert.Less(t, strings.Index(page, `id="quarantined"`), strings.Index(page, `id="problems"`))
	assert.Less(t, strings.Index(page, `id="summary"`), strings.Index(page, `id="features"`))
}

func TestAttachmentView(t *testing.T) {
	big := strings.Repeat("x", maxInlineText+10)
	tests := []struct {
		name string
		in   Attachment
		want attachmentView
	}{
		{"text", Attachment{"a", "text/plain; charset=utf-8", "aGk="}, attachmentView{Name: "a", MimeType: "text/plain; charset=utf-8", Size: 2, Text: "hi"}},
		{"yaml", Attachment{"b", "application/yaml", "aGk="}, attachmentView{Name: "b", MimeType: "application/yaml", Size: 2, Text: "hi"}},
		{"svg not inlined", Attachment{"c", "image/svg+xml", "aGk="}, attachmentView{Name: "c", MimeType: "image/svg+xml", Size: 2, Text: "hi"}},
		{"binary", Attachment{"d", "application/octet-stream", "AAE="}, attachmentView{Name: "d", MimeType: "application/octet-stream", Size: 2, Note: "binary attachment, not shown"}},
		{"bad base64", Attachment{"e", "text/plain", "%%%"}, attachmentView{Name: "e", MimeType: "text/plain", Note: "attachment data is not valid base64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, newAttachmentView(tt.in))
		})
	}
	v := newAttachmentView(Attachment{"big", "text/plain", b64(big)})
	assert.True(t, v.Truncated)
	assert.Len(t, v.Text, maxInlineText)
	assert.Equal(t, len(big), v.Size)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
