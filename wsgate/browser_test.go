package wsgate

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/fanin-go/fanin"
)

// noBrowserEnv, set to 1, says that no browser is installed on purpose;
// only then is the browser test skipped. CI never sets it, so there a
// missing Chromium fails the test.
const noBrowserEnv = "WSGATE_NO_BROWSER"

// chromium returns the path of a Chromium to drive.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv(noBrowserEnv) == "1" {
		t.Skip(noBrowserEnv + "=1: no browser on purpose")
	}
	t.Fatalf("no Chromium found: install it (apt-get install -y chromium), or set %s=1 to leave this test out on purpose", noBrowserEnv)
	return ""
}

// share returns the fraction of img's pixels within 24 of colour c in
// each channel.
func share(img image.Image, c [3]uint8) float64 {
	b := img.Bounds()
	n := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if near(r>>8, c[0]) && near(g>>8, c[1]) && near(bl>>8, c[2]) {
				n++
			}
		}
	}
	return float64(n) / float64(b.Dx()*b.Dy())
}

func near(v uint32, want uint8) bool {
	d := int(v) - int(want)
	return d >= -24 && d <= 24
}

// shot takes a screenshot of the element sel and decodes it.
func shot(t *testing.T, ctx context.Context, sel string) image.Image {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("screenshot of %s: %v", sel, err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("decoding the screenshot of %s: %v", sel, err)
	}
	return img
}

var (
	streamingBlue = [3]uint8{0x0d, 0x47, 0xa1} // .agent.streaming
	doneGreen     = [3]uint8{0x1b, 0x5e, 0x20} // .agent.done
	white         = [3]uint8{0xff, 0xff, 0xff} // the reply's text
)

// TestBrowserChat opens the page in headless Chromium, types a message,
// sees the answer arrive in pieces (the first word shown while the rest is
// still coming) and complete, checks the screenshots' colours, then
// reloads the page in the middle of a second answer and sees that stream
// end on the server: the agent is told, and its slot is freed.
func TestBrowserChat(t *testing.T) {
	path := chromium(t)
	step := make(chan struct{})
	handed := make(chan fanin.StreamReply[string], 1)
	s := serve(t, Config{}, func(m Message) {
		words := strings.Fields(m.Text)
		m.Reply.Send(words[0] + " ")
		if m.Text == "hold on" {
			handed <- m.Reply // the page is reloaded meanwhile
			return
		}
		<-step // the test has seen the first piece alone
		for _, w := range words[1:] {
			m.Reply.Send(w + " ")
		}
		m.Reply.End()
	})

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI runs as root
		chromedp.WindowSize(800, 600),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(ctx, 2*patience)
	defer cancel()

	page := "http://" + s.gw.Addr().String() + "/"
	if err := chromedp.Do(ctx,
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.CSS(`#status[data-state="open"]`)),
		chromedp.SendKeys(chromedp.CSS("#text"), "streamed word by word"),
		chromedp.Click(chromedp.CSS("#send")),
		chromedp.WaitVisible(chromedp.CSS(`.agent.streaming[data-chunks="1"]`)),
	); err != nil {
		t.Fatalf("sending a message: %v", err)
	}
	first, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".agent.streaming")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(first) != "streamed" {
		t.Errorf("the first piece shows %q, want %q", first, "streamed")
	}
	if img := shot(t, ctx, ".agent.streaming"); share(img, streamingBlue) < 0.5 {
		t.Errorf("the reply in progress is %.0f%% streaming blue, want most of it", 100*share(img, streamingBlue))
	}

	close(step)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`.agent.done[data-chunks="4"]`))); err != nil {
		t.Fatalf("waiting for the whole reply: %v", err)
	}
	whole, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".agent.done")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(whole) != "streamed word by word" {
		t.Errorf("the reply shows %q, want %q", whole, "streamed word by word")
	}
	img := shot(t, ctx, ".agent.done")
	t.Logf("finished reply %v: %.1f%% done green, %.1f%% white, %.1f%% streaming blue",
		img.Bounds().Size(), 100*share(img, doneGreen), 100*share(img, white), 100*share(img, streamingBlue))
	if g := share(img, doneGreen); g < 0.5 {
		t.Errorf("the finished reply is %.0f%% done green, want most of it", 100*g)
	}
	if w := share(img, white); w < 0.005 {
		t.Errorf("the finished reply has %.2f%% white text pixels, want its text drawn", 100*w)
	}
	if b := share(img, streamingBlue); b > 0.01 {
		t.Errorf("the finished reply is still %.0f%% streaming blue", 100*b)
	}

	// Reload in the middle of an answer.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#text"), "hold on"),
		chromedp.Click(chromedp.CSS("#send")),
		chromedp.WaitVisible(chromedp.CSS(`.agent.streaming[data-chunks="1"]`)),
	); err != nil {
		t.Fatalf("sending the second message: %v", err)
	}
	r := <-handed
	if err := chromedp.Do(ctx,
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`#status[data-state="open"]`)),
	); err != nil {
		t.Fatalf("reloading: %v", err)
	}
	<-r.Done()
	if r.Received() {
		t.Error("Received = true for a reply whose page was reloaded")
	}
	if err := r.Send("late"); err != fanin.ErrReplyEnded {
		t.Errorf("Send after the reload = %v, want ErrReplyEnded", err)
	}
	eventually(t, "the old page's connection closed", func() bool { return s.gw.Stats().Conns == 1 })
	eventually(t, "no stream open", func() bool { return s.gw.pending.Load().Len() == 0 })
	bubbles, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".msg").length`))
	if err != nil {
		t.Fatal(err)
	}
	if bubbles != 0 {
		t.Errorf("the reloaded page shows %d messages, want a fresh page", bubbles)
	}
	cancelBrowser()
	cancelAlloc()
}
