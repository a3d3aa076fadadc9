package report

import (
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"mime"
	"strings"
	"unicode/utf8"
)

//go:embed html.tmpl
var htmlSource string

// htmlTemplate is parsed once; html/template escapes every value, including
// error messages and attachment text that come from the system under test.
var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"reqLabel":    func(s ReqStatus) string { return string(s) }, // colour carries the rest; no emoji font needed
	"duration":    fmtDuration,
	"passRate":    fmtPassRate,
	"firstLine":   firstLine,
	"reason":      reasonOrDefault,
	"marks":       scenarioMarks,
	"reqClass":    func(s ReqStatus) string { return strings.ReplaceAll(string(s), " ", "-") },
	"inc":         func(i int) int { return i + 1 },
	"trimSpace":   strings.TrimSpace,
	"hasProblems": func(p []Problem) bool { return len(p) > 0 },
	"mutLabel":    mutationLabel,
	"add":         func(a, b int) int { return a + b },
}).Parse(htmlSource))

// maxInlineText caps an attachment shown inline so that a multi-megabyte log
// does not make the page unusable; the cut is announced on the page.
const maxInlineText = 64 << 10

// WriteHTML writes traceability.html: one self-contained page (inline CSS,
// no script, no network) that a person should prefer to the test log.
func (r *Report) WriteHTML(w io.Writer) error {
	if err := htmlTemplate.Execute(w, newHTMLView(r)); err != nil {
		return fmt.Errorf("write traceability html: %w", err)
	}
	return nil
}

// htmlView is the report plus what the template cannot compute itself.
type htmlView struct {
	*Report
	Anchors  map[string]string
	Features []featureView
}

type featureView struct {
	FeatureResult
	Anchor    string
	Scenarios []scenarioView
}

type scenarioView struct {
	ScenarioResult
	Anchor string
	// Failures are the attempts that did not pass, latest first.
	Failures []failureView
}

type failureView struct {
	Run     int
	Latest  bool
	Attempt Attempt
	Files   []attachmentView
}

type attachmentView struct {
	Name, MimeType string
	Size           int
	Text           string
	Truncated      bool
	Image          template.URL
	Note           string
}

func newHTMLView(r *Report) htmlView {
	v := htmlView{Report: r, Anchors: map[string]string{}}
	n := 0
	for fi, f := range r.Features {
		fv := featureView{FeatureResult: f, Anchor: fmt.Sprintf("f%d", fi+1)}
		for _, s := range f.Scenarios {
			n++
			sv := scenarioView{ScenarioResult: s, Anchor: fmt.Sprintf("s%d", n)}
			v.Anchors[refKey(s.URI, s.Line, s.Name)] = sv.Anchor
			for i := len(s.History) - 1; i >= 0; i-- {
				a := s.History[i]
				if a.Failure == nil {
					continue
				}
				fv := failureView{Run: i + 1, Latest: i == len(s.History)-1, Attempt: a}
				for _, at := range a.Failure.Attachments {
					fv.Files = append(fv.Files, newAttachmentView(at))
				}
				sv.Failures = append(sv.Failures, fv)
			}
			fv.Scenarios = append(fv.Scenarios, sv)
		}
		v.Features = append(v.Features, fv)
	}
	return v
}

// Anchor returns the in-page link target of a referenced scenario.
func (v htmlView) Anchor(s ScenarioRef) string {
	return "#" + v.Anchors[refKey(s.URI, s.Line, s.Name)]
}

func refKey(uri string, line int, name string) string {
	return fmt.Sprintf("%s\x00%d\x00%s", uri, line, name)
}

// newAttachmentView decodes an attachment for display: text inline, common
// raster images as data URLs (no network), anything else by size only. SVG
// is deliberately not inlined because it can carry script.
func newAttachmentView(a Attachment) attachmentView {
	v := attachmentView{Name: a.Name, MimeType: a.MimeType}
	data, err := base64.StdEncoding.DecodeString(a.Data)
	if err != nil {
		v.Note = "attachment data is not valid base64"
		return v
	}
	v.Size = len(data)
	media, _, _ := mime.ParseMediaType(a.MimeType)
	switch {
	case media == "image/png" || media == "image/jpeg" || media == "image/gif" || media == "image/webp":
		v.Image = template.URL("data:" + media + ";base64," + a.Data)
	case isTextMedia(media) || (media == "" && utf8.Valid(data)):
		if len(data) > maxInlineText {
			data, v.Truncated = data[:maxInlineText], true
		}
		v.Text = strings.ToValidUTF8(string(data), "\uFFFD")
	default:
		v.Note = "binary attachment, not shown"
	}
	return v
}

func isTextMedia(media string) bool {
	switch media {
	case "application/json", "application/x-ndjson", "application/yaml", "application/x-yaml",
		"application/xml", "application/problem+json":
		return true
	}
	return strings.HasPrefix(media, "text/") || strings.HasSuffix(media, "+json") || strings.HasSuffix(media, "+xml")
}
