package webhook

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fanin-go/fanin"
)

// BenchmarkWebhook measures signed requests per second through the handler
// into the stream, over real loopback HTTP with keep-alive connections, with
// a consumer that keeps up. Each op is one request answered 2xx.
//
//   - mode=accept: a JSON message with the sha256 HMAC, answered 202;
//   - mode=reply: the same, waiting for the consumer's reply, answered 200;
//   - mode=standard: a Standard Webhooks delivery with a new ID each time,
//     so each is verified, remembered in the table of deliveries and sent;
//   - mode=repeat: one Standard Webhooks delivery sent again and again,
//     each answered from the table.
//
// mode=accept and mode=reply are the requests the handler has always
// served, for comparison across versions.
func BenchmarkWebhook(b *testing.B) {
	for _, mode := range []string{"accept", "reply", "standard", "repeat"} {
		b.Run("mode="+mode, func(b *testing.B) {
			sw, _ := StandardWebhooks(vectorSecret)
			h := New(Config{Verifiers: []Verifier{HMACSHA256("", secret), sw}})
			c := fanin.New[Message](fanin.DefaultCapacity)
			stream, _ := c.Start()
			s, _ := c.Sender()
			h.Attach(s)
			go agent(stream, func(m Message) string { return m.Content })
			srv := httptest.NewServer(h)
			tr := &http.Transport{MaxIdleConnsPerHost: 64}
			client := &http.Client{Transport: tr}
			body := msg("bench", "hello, agent", mode == "reply")
			sig := "sha256=" + hex.EncodeToString(Sign(secret, body))
			want := http.StatusAccepted
			if mode == "reply" {
				want = http.StatusOK
			}
			var ids atomic.Int64
			start := time.Now()
			ts := strconv.FormatInt(start.Unix(), 10)
			repeatSig, _ := SignStandard(vectorSecret, "msg_repeat", start, body)

			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					switch mode {
					case "accept", "reply":
						req.Header.Set(DefaultSignatureHeader, sig)
					case "standard":
						id := "msg_" + strconv.FormatInt(ids.Add(1), 10)
						now := time.Now()
						sig, _ := SignStandard(vectorSecret, id, now, body)
						req.Header.Set("Webhook-Id", id)
						req.Header.Set("Webhook-Timestamp", strconv.FormatInt(now.Unix(), 10))
						req.Header.Set("Webhook-Signature", sig)
					case "repeat":
						req.Header.Set("Webhook-Id", "msg_repeat")
						req.Header.Set("Webhook-Timestamp", ts)
						req.Header.Set("Webhook-Signature", repeatSig)
					}
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != want {
						b.Errorf("status %d, want %d", resp.StatusCode, want)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			b.StopTimer()
			srv.Close()
			tr.CloseIdleConnections()
			c.Shutdown(context.Background())
		})
	}
}
