package report

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// requirementID is the only accepted spelling of a requirement id. It is
// strict on purpose: a near miss such as BR-GATEWAY-0188 must be an error,
// not a new requirement.
var requirementID = regexp.MustCompile(`^BR-GATEWAY-\d{3}$`)

// Catalog is the list of business requirements the suite must prove. It is
// the denominator of every coverage figure, so it is validated strictly.
type Catalog struct {
	// Path is where the catalog was read from; it names the file in errors
	// and in the report header.
	Path string `json:"-"`
	// Areas maps an area id (e.g. "ingestion") to a human title. Optional;
	// when present every requirement's area must be one of its keys.
	Areas map[string]string `json:"areas,omitempty"`
	// Requirements in catalog order.
	Requirements []Requirement `json:"requirements"`
}

// Requirement is one catalog entry.
type Requirement struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Statement string `json:"statement"`
	Area      string `json:"area"`
}

// LoadCatalog reads and validates the catalog at path.
func LoadCatalog(path string) (Catalog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Catalog{}, fmt.Errorf("read requirement catalog: %w", err)
	}
	return ParseCatalog(path, data)
}

// ParseCatalog decodes and validates a catalog; name is used in errors only.
// Unknown keys are rejected so that a misspelt field ("tittle") is caught
// instead of yielding an empty title. All problems are reported at once.
func ParseCatalog(name string, data []byte) (Catalog, error) {
	var c Catalog
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return Catalog{}, fmt.Errorf("%s: invalid requirement catalog: %w", name, err)
	}
	c.Path = name
	if err := c.validate(); err != nil {
		return Catalog{}, fmt.Errorf("%s: invalid requirement catalog: %w", name, err)
	}
	return c, nil
}

// validate checks ids, uniqueness and mandatory fields, naming each entry by
// its index and id so the author can find it.
func (c Catalog) validate() error {
	if len(c.Requirements) == 0 {
		return errors.New("no requirements")
	}
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(c.Areas)) {
		if strings.TrimSpace(c.Areas[id]) == "" {
			errs = append(errs, fmt.Errorf("areas.%s: empty title", id))
		}
	}
	seen := map[string]int{}
	for i, r := range c.Requirements {
		where := fmt.Sprintf("requirements[%d]", i)
		if r.ID != "" {
			where += fmt.Sprintf(" (%s)", r.ID)
		}
		if !requirementID.MatchString(r.ID) {
			errs = append(errs, fmt.Errorf("%s: id %q does not match %s", where, r.ID, requirementID))
		} else if prev, dup := seen[r.ID]; dup {
			errs = append(errs, fmt.Errorf("%s: duplicate id, first defined at requirements[%d]", where, prev))
		} else {
			seen[r.ID] = i
		}
		for _, f := range []struct{ name, value string }{
			{"title", r.Title}, {"statement", r.Statement}, {"area", r.Area},
		} {
			if strings.TrimSpace(f.value) == "" {
				errs = append(errs, fmt.Errorf("%s: empty %s", where, f.name))
			}
		}
		if r.Area != "" && len(c.Areas) > 0 {
			if _, ok := c.Areas[r.Area]; !ok {
				errs = append(errs, fmt.Errorf("%s: area %q is not listed under areas", where, r.Area))
			}
		}
	}
	return errors.Join(errs...)
}

// areaTitle returns the display title of an area, falling back to its id.
func (c Catalog) areaTitle(id string) string {
	if t := c.Areas[id]; t != "" {
		return t
	}
	return id
}
