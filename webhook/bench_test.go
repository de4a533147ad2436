package webhook

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/fanin-go/fanin"
)

// BenchmarkWebhook measures signed requests per second through the handler
// into the stream, over real loopback HTTP with keep-alive connections, with
// a consumer that keeps up. Each op is one request answered 202.
func BenchmarkWebhook(b *testing.B) {
	for _, wait := range []bool{false, true} {
		name := "mode=accept"
		if wait {
			name = "mode=reply"
		}
		b.Run(name, func(b *testing.B) {
			h := New(Config{Verifiers: signed})
			c := fanin.New[Message](fanin.DefaultCapacity)
			stream, _ := c.Start()
			s, _ := c.Sender()
			h.Attach(s)
			go agent(stream, func(m Message) string { return m.Content })
			srv := httptest.NewServer(h)
			tr := &http.Transport{MaxIdleConnsPerHost: 64}
			client := &http.Client{Transport: tr}
			body := msg("bench", "hello, agent", wait)
			sig := "sha256=" + hex.EncodeToString(Sign(secret, body))
			want := http.StatusAccepted
			if wait {
				want = http.StatusOK
			}

			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set(DefaultSignatureHeader, sig)
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
