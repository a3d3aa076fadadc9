package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/kubernaut/gateway-contract/support/gatewayconf"
)

// Report is perf.json.
type Report struct {
	Date     string  `json:"date"`
	Machine  Machine `json:"machine"`
	Settings struct {
		Levels          []int    `json:"levels"`
		WarmupSeconds   float64  `json:"warmupSeconds"`
		DurationSeconds float64  `json:"durationSeconds"`
		LatencyRequests int      `json:"latencyRequests"`
		GatewayArgs     []string `json:"gatewayArgs"`
	} `json:"settings"`
	Raw struct {
		Create       []Point `json:"create"`
		StatusUpdate []Point `json:"statusUpdate"`
	} `json:"raw"`
	// Direct is the gateway talking to the API server itself, as deployed.
	Direct Series `json:"gateway"`
	// Proxied is the gateway behind the suite's fault proxy, which counts its API calls.
	Proxied *Series `json:"gatewayThroughProxy,omitempty"`
	Latency struct {
		New       Latency `json:"newSignal"`
		Repeat    Latency `json:"repeat"`
		RawCreate Latency `json:"rawCreate"`
	} `json:"latencyOneSender"`
	Ratios []Ratio `json:"ratios"`
	// Overload and Flood are the defences measured (overload.go, flood.go), when enabled.
	Overload    *Overload `json:"overload,omitempty"`
	Flood       *Flood    `json:"garbageTokenFlood,omitempty"`
	WallSeconds float64   `json:"wallSeconds"`
}

// Series is one gateway's rates.
type Series struct {
	New    []Point `json:"newSignals"`
	Repeat []Point `json:"repeats"`
}

// Ratio compares the gateway with the raw rates at one concurrency: new signals ÷ (raw creates ÷
// 2), repeats ÷ raw status updates.
//
// CPUNew and CPURepeat are the same comparisons made with the CPU time the machine spent per
// operation (all of the benchmark's processes: control plane, gateway, this program) instead of
// the rates: 2 × CPU per raw create ÷ CPU per new signal, CPU per raw update ÷ CPU per repeat.
// When the cores are the limit they predict the rate ratios, and other load on a shared machine
// disturbs them far less than it disturbs rates.
type Ratio struct {
	Concurrency int     `json:"concurrency"`
	New         float64 `json:"newSignal"`
	Repeat      float64 `json:"repeat"`
	CPUNew      float64 `json:"newSignalByCPU,omitempty"`
	CPURepeat   float64 `json:"repeatByCPU,omitempty"`
}

// Machine says where the figures come from.
type Machine struct {
	Description string `json:"description"`
	CPUs        int    `json:"cpus"`
	CPUModel    string `json:"cpuModel,omitempty"`
	LoadAverage string `json:"loadAverageAtStart,omitempty"`
	Go          string `json:"go"`
}

func newReport(cfg config) *Report {
	r := &Report{Date: time.Now().UTC().Format(time.RFC3339)}
	r.Settings.Levels = cfg.levels
	r.Settings.WarmupSeconds = cfg.win.warmup.Seconds()
	r.Settings.DurationSeconds = cfg.win.duration.Seconds()
	r.Settings.LatencyRequests = cfg.latencyN
	r.Settings.GatewayArgs = gatewayconf.Documented("kubernaut-system").Args()
	r.Machine = Machine{CPUs: runtime.NumCPU(), CPUModel: cpuModel(), LoadAverage: loadAverage(), Go: runtime.Version()}
	r.Machine.Description = cfg.machine
	if r.Machine.Description == "" {
		r.Machine.Description = fmt.Sprintf("%d CPUs, %s", r.Machine.CPUs, orUnknown(r.Machine.CPUModel))
	}
	return r
}

func (r *Report) finish(wall time.Duration) {
	r.WallSeconds = wall.Seconds()
	r.Ratios = nil
	for i, c := range r.Settings.Levels {
		if i >= len(r.Raw.Create) || i >= len(r.Raw.StatusUpdate) || i >= len(r.Direct.New) || i >= len(r.Direct.Repeat) {
			break
		}
		ratio := Ratio{Concurrency: c}
		if raw := r.Raw.Create[i].PerSecond; raw > 0 {
			ratio.New = r.Direct.New[i].PerSecond / (raw / 2)
		}
		if raw := r.Raw.StatusUpdate[i].PerSecond; raw > 0 {
			ratio.Repeat = r.Direct.Repeat[i].PerSecond / raw
		}
		if gw := r.Direct.New[i].CPUMillisPerOp["total"]; gw > 0 {
			ratio.CPUNew = 2 * r.Raw.Create[i].CPUMillisPerOp["total"] / gw
		}
		if gw := r.Direct.Repeat[i].CPUMillisPerOp["total"]; gw > 0 {
			ratio.CPURepeat = r.Raw.StatusUpdate[i].CPUMillisPerOp["total"] / gw
		}
		r.Ratios = append(r.Ratios, ratio)
	}
}

// rows is the table, shared by the terminal and perf.md.
func (r *Report) rows() (header []string, rows [][]string) {
	header = []string{"concurrency"}
	for _, c := range r.Settings.Levels {
		header = append(header, fmt.Sprint(c))
	}
	rate := func(label string, ps []Point) {
		row := []string{label}
		for i := range r.Settings.Levels {
			cell := "-"
			if i < len(ps) {
				cell = fmt.Sprintf("%.0f", ps[i].PerSecond)
				if ps[i].Errors > 0 {
					cell += fmt.Sprintf(" (%d errors)", ps[i].Errors)
				}
			}
			row = append(row, cell)
		}
		rows = append(rows, row)
	}
	calls := func(label string, ps []Point) {
		row := []string{label}
		for i := range r.Settings.Levels {
			cell := "-"
			if i < len(ps) && ps[i].APICallsPerSignal != nil {
				cell = fmt.Sprintf("%.2f", *ps[i].APICallsPerSignal)
			}
			row = append(row, cell)
		}
		rows = append(rows, row)
	}
	ratio := func(label string, get func(Ratio) float64) {
		row := []string{label}
		for i := range r.Settings.Levels {
			cell := "-"
			if i < len(r.Ratios) {
				cell = fmt.Sprintf("%.2f", get(r.Ratios[i]))
			}
			row = append(row, cell)
		}
		rows = append(rows, row)
	}
	rate("raw creates/s", r.Raw.Create)
	rate("raw status updates/s", r.Raw.StatusUpdate)
	rate("gateway new signals/s", r.Direct.New)
	rate("gateway repeats/s", r.Direct.Repeat)
	ratio("new ratio: gateway ÷ (raw creates ÷ 2)", func(x Ratio) float64 { return x.New })
	ratio("repeat ratio: gateway ÷ raw updates", func(x Ratio) float64 { return x.Repeat })
	ratio("new ratio by CPU per operation", func(x Ratio) float64 { return x.CPUNew })
	ratio("repeat ratio by CPU per operation", func(x Ratio) float64 { return x.CPURepeat })
	if r.Proxied != nil {
		rate("through the fault proxy: new signals/s", r.Proxied.New)
		rate("through the fault proxy: repeats/s", r.Proxied.Repeat)
		calls("API calls per new signal", r.Proxied.New)
		calls("API calls per repeat", r.Proxied.Repeat)
	}
	return header, rows
}

// cpuTable is the CPU milliseconds per operation by process at one concurrency (16 when
// measured, else the highest): where the machine's cores went for each kind of operation.
func (r *Report) cpuTable() (level int, header []string, rows [][]string) {
	idx := len(r.Settings.Levels) - 1
	for i, c := range r.Settings.Levels {
		if c == 16 {
			idx = i
		}
	}
	if idx < 0 {
		return 0, nil, nil
	}
	procs := []string{"kube-apiserver", "etcd", "kube-controller", "gateway", "loadbench"}
	header = append(append([]string{"CPU ms per operation"}, procs...), "all of these", other)
	series := []struct {
		label string
		ps    []Point
	}{
		{"raw create", r.Raw.Create}, {"raw status update", r.Raw.StatusUpdate},
		{"gateway new signal", r.Direct.New}, {"gateway repeat", r.Direct.Repeat},
	}
	if r.Proxied != nil {
		series = append(series, struct {
			label string
			ps    []Point
		}{"through the proxy: new signal", r.Proxied.New}, struct {
			label string
			ps    []Point
		}{"through the proxy: repeat", r.Proxied.Repeat})
	}
	for _, s := range series {
		if idx >= len(s.ps) || s.ps[idx].CPUMillisPerOp == nil {
			continue
		}
		cpu := s.ps[idx].CPUMillisPerOp
		row := []string{s.label}
		for _, p := range append(procs, "total", other) {
			row = append(row, fmt.Sprintf("%.2f", cpu[p]))
		}
		rows = append(rows, row)
	}
	return r.Settings.Levels[idx], header, rows
}

func (r *Report) latencyLines() []string {
	return []string{
		"gateway, new signal: " + r.Latency.New.String(),
		"gateway, repeat:     " + r.Latency.Repeat.String(),
		"raw create:          " + r.Latency.RawCreate.String(),
	}
}

func (r *Report) print(w io.Writer) {
	header, rows := r.rows()
	fmt.Fprintf(w, "\nLoad benchmark, %s, on %s\n\n", r.Date, r.Machine.Description)
	table(w, header, rows)
	if level, header, rows := r.cpuTable(); len(rows) > 0 {
		fmt.Fprintf(w, "\nCPU ms per operation at concurrency %d, by process:\n", level)
		table(w, header, rows)
	}
	fmt.Fprintln(w, "\nOne sender, sequential requests, idle control plane:")
	for _, l := range r.latencyLines() {
		fmt.Fprintln(w, "  "+l)
	}
	for _, sec := range r.defenceSections() {
		fmt.Fprintln(w, "\n"+sec.title+":")
		for _, l := range sec.lines {
			fmt.Fprintln(w, "  "+l)
		}
	}
	fmt.Fprintln(w)
}

// table prints rows under header in aligned columns, the first left-aligned.
func table(w io.Writer, header []string, rows [][]string) {
	width := make([]int, len(header))
	for _, row := range append([][]string{header}, rows...) {
		for i, cell := range row {
			width[i] = max(width[i], len([]rune(cell)))
		}
	}
	line := func(row []string) {
		var b strings.Builder
		for i, cell := range row {
			pad := strings.Repeat(" ", width[i]-len([]rune(cell)))
			if i == 0 {
				b.WriteString(cell + pad)
			} else {
				b.WriteString("  " + pad + cell)
			}
		}
		fmt.Fprintln(w, b.String())
	}
	line(header)
	for _, row := range rows {
		line(row)
	}
}

func (r *Report) markdown() string {
	var b strings.Builder
	header, rows := r.rows()
	fmt.Fprintf(&b, "# Load benchmark\n\n%s on %s (load average at start %s, %s); each point %gs after %gs of warm-up.\n\n",
		r.Date, r.Machine.Description, orUnknown(r.Machine.LoadAverage), r.Machine.Go, r.Settings.DurationSeconds, r.Settings.WarmupSeconds)
	b.WriteString("| " + strings.Join(header, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat("---|", len(header)) + "\n")
	for _, row := range rows {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	if level, header, rows := r.cpuTable(); len(rows) > 0 {
		fmt.Fprintf(&b, "\nCPU per operation at concurrency %d, by process (the benchmark's own: control plane, gateway, this program with the fault proxy; \"%s\" is the rest of the machine, a measure of interference):\n\n", level, other)
		b.WriteString("| " + strings.Join(header, " | ") + " |\n")
		b.WriteString("|" + strings.Repeat("---|", len(header)) + "\n")
		for _, row := range rows {
			b.WriteString("| " + strings.Join(row, " | ") + " |\n")
		}
	}
	b.WriteString("\nOne sender, sequential requests, idle control plane:\n\n")
	for _, l := range r.latencyLines() {
		b.WriteString("- " + l + "\n")
	}
	b.WriteString("\nRaw: client-go with the gateway's ServiceAccount token and no client-side rate limit. " +
		"Gateway: direct to the API server, production flags (" + strings.Join(r.Settings.GatewayArgs, " ") + "). " +
		"API calls per signal: the fault proxy's record of the gateway's requests in the point's namespace. " +
		"Ratios by CPU per operation: 2 × CPU per raw create ÷ CPU per new signal, CPU per raw update ÷ CPU per repeat, " +
		"counting every process of the benchmark (control plane, gateway, this program); they predict the rate ratios when the cores are the limit " +
		"and are far less disturbed by other load on a shared machine.\n")
	for _, sec := range r.defenceSections() {
		b.WriteString("\n## " + sec.title + "\n\n")
		for _, l := range sec.lines {
			b.WriteString("- " + l + "\n")
		}
	}
	return b.String()
}

func (r *Report) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "perf.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "perf.md"), []byte(r.markdown()), 0o644)
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
