package report

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadCatalog(t *testing.T) {
	c, err := LoadCatalog(filepath.Join("testdata", "catalog.yaml"))
	require.NoError(t, err)
	assert.Len(t, c.Requirements, 11)
	assert.Equal(t, "Signal ingestion", c.areaTitle("ingestion"))
	assert.Equal(t, filepath.Join("testdata", "catalog.yaml"), c.Path)
}

func TestLoadCatalogErrors(t *testing.T) {
	tests := []struct {
		name string
		path string
		want []string
	}{
		{
			name: "every problem named with file and entry",
			path: filepath.Join("testdata", "catalog-bad.yaml"),
			want: []string{
				"catalog-bad.yaml",
				`requirements[1] (BR-GATEWAY-01): id "BR-GATEWAY-01" does not match`,
				"requirements[2] (BR-GATEWAY-001): duplicate id, first defined at requirements[0]",
				"requirements[3] (BR-GATEWAY-003): empty title",
				`requirements[3] (BR-GATEWAY-003): area "dedup" is not listed under areas`,
			},
		},
		{
			name: "missing file",
			path: filepath.Join("testdata", "nope.yaml"),
			want: []string{"read requirement catalog", "nope.yaml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadCatalog(tt.path)
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestParseCatalogErrors(t *testing.T) {
	const good = "  - id: BR-GATEWAY-001\n    title: T\n    statement: S\n    area: a\n"
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"no requirements", "requirements: []\n", "no requirements"},
		{"unknown field", "requirements:\n  - id: BR-GATEWAY-001\n    tittle: T\n", `unknown field "tittle"`},
		{"not yaml", "requirements: [", "invalid requirement catalog"},
		{"typo id", "requirements:\n  - id: BR-GATEWAY-0188\n    title: T\n    statement: S\n    area: a\n", `requirements[0] (BR-GATEWAY-0188): id "BR-GATEWAY-0188" does not match`},
		{"lower case id", "requirements:\n  - id: br-gateway-001\n    title: T\n    statement: S\n    area: a\n", "does not match"},
		{"missing id", "requirements:\n  - title: T\n    statement: S\n    area: a\n", `requirements[0]: id "" does not match`},
		{"empty statement", "requirements:\n  - id: BR-GATEWAY-002\n    title: T\n    statement: \" \"\n    area: a\n", "requirements[0] (BR-GATEWAY-002): empty statement"},
		{"empty area", "requirements:\n" + good + "  - id: BR-GATEWAY-002\n    title: T\n    statement: S\n", "requirements[1] (BR-GATEWAY-002): empty area"},
		{"empty area title", "areas:\n  a: \"\"\nrequirements:\n" + good, "areas.a: empty title"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCatalog("cat.yaml", []byte(tt.yaml))
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "cat.yaml: "), err.Error())
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
