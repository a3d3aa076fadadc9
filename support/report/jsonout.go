package report

import (
	"encoding/json"
	"fmt"
	"io"
)

// WriteJSON writes traceability.json: the Report itself, indented, so that
// dashboards and scripts read the same figures people see.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write traceability json: %w", err)
	}
	return nil
}

// ReadJSON reads a document written by WriteJSON, refusing another schema
// version rather than misreading it.
func ReadJSON(rd io.Reader) (*Report, error) {
	var r Report
	dec := json.NewDecoder(rd)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("read traceability json: %w", err)
	}
	if r.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("read traceability json: schema version %d, want %d", r.SchemaVersion, SchemaVersion)
	}
	return &r, nil
}
