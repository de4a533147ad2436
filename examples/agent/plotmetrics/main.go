// Command plotmetrics scrapes a /metrics endpoint of the agent example
// while it runs and draws what it saw: the length of each lane, the sends
// refused, and the restarts of each adapter, over time. It is how
// docs/agent-metrics.png is made, from the repository root:
//
//	cd examples/agent
//	go build -o /tmp/agent . && go build -o /tmp/plotmetrics ./plotmetrics
//	/tmp/agent -for 15s -think 20ms -metrics 127.0.0.1:9464 &
//	/tmp/plotmetrics -url http://127.0.0.1:9464/metrics -out ../../docs/agent-metrics.png
//
// It waits up to -wait for the first answer, scrapes every -every, and
// stops when the endpoint stops answering (the agent has ended).
package main

import (
	"flag"
	"fmt"
	"image/color"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:9464/metrics", "the endpoint to scrape")
	out := flag.String("out", "agent-metrics.png", "the PNG to write")
	every := flag.Duration("every", 200*time.Millisecond, "time between scrapes")
	wait := flag.Duration("wait", time.Minute, "how long to wait for the first answer")
	flag.Parse()
	if err := run(*url, *out, *every, *wait); err != nil {
		fmt.Fprintln(os.Stderr, "plotmetrics:", err)
		os.Exit(1)
	}
}

// series are the values of one panel: one line per label value, each a
// list of (seconds since the first scrape, value).
type series map[string]plotter.XYs

func (s series) add(name string, t, v float64) { s[name] = append(s[name], plotter.XY{X: t, Y: v}) }

func run(url, out string, every, wait time.Duration) error {
	client := &http.Client{Timeout: 5 * time.Second}
	length, refused, restarts := series{}, series{}, series{}
	var start time.Time
	deadline := time.Now().Add(wait)
	for {
		mfs, err := scrape(client, url)
		if err != nil {
			if start.IsZero() && time.Now().Before(deadline) {
				time.Sleep(every) // the agent is starting
				continue
			}
			if start.IsZero() {
				return err
			}
			break // the agent has ended
		}
		if start.IsZero() {
			start = time.Now()
		}
		t := time.Since(start).Seconds()
		sum := func(s series, name, label string) {
			byLabel := map[string]float64{}
			for _, m := range mfs[name].GetMetric() {
				byLabel[labelValue(m, label)] += value(m)
			}
			for k, v := range byLabel {
				s.add(k, t, v)
			}
		}
		sum(length, "fanin_lane_length", "adapter")
		sum(refused, "fanin_lane_refused_total", "adapter")
		for _, m := range mfs["fanin_webhook_answers_total"].GetMetric() {
			if labelValue(m, "status") == "rate_limited" {
				refused.add("webhook 429", t, value(m))
			}
		}
		sum(restarts, "fanin_adapter_restarts_total", "adapter")
		time.Sleep(every)
	}
	if len(length) == 0 {
		return fmt.Errorf("%s had no fanin_lane_length", url)
	}
	return draw3(out, []panel{
		{"Lane length (values buffered)", "values", length},
		{"Sends refused (cumulative)", "sends", refused},
		{"Adapter restarts (cumulative)", "restarts", restarts},
	})
}

func scrape(client *http.Client, url string) (map[string]*dto.MetricFamily, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return 0
}

type panel struct {
	title, y string
	s        series
}

// draw3 draws the panels one above another into a PNG.
func draw3(out string, panels []panel) error {
	// One color per name across the panels.
	colors := map[string]int{}
	for _, pn := range panels {
		for name := range pn.s {
			colors[name] = 0
		}
	}
	for i, name := range slices.Sorted(maps.Keys(colors)) {
		colors[name] = i
	}
	const w, h = 8 * vg.Inch, 9 * vg.Inch
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadX: vg.Millimeter, PadY: 4 * vg.Millimeter, PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 2 * vg.Millimeter}
	for i, pn := range panels {
		p := plot.New()
		p.Title.Text = pn.title
		p.X.Label.Text = "seconds"
		p.Y.Label.Text = pn.y
		p.Y.Min = 0
		p.Legend.Top = true
		p.Legend.Left = true
		p.Add(plotter.NewGrid())
		names := slices.Sorted(maps.Keys(pn.s))
		for _, name := range names {
			l, err := plotter.NewLine(pn.s[name])
			if err != nil {
				return err
			}
			l.Color = plotutil.Color(colors[name])
			l.Width = vg.Points(1.5)
			p.Add(l)
			p.Legend.Add(name, l)
		}
		p.BackgroundColor = color.White
		p.Draw(tiles.At(dc, 0, i))
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
