package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzDecode checks the request decoder on arbitrary bodies: it never
// panics, accepts only objects with a sender and content, words its errors
// in the package's terms, and truncation of what it accepts never yields
// invalid UTF-8 from valid input.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"sender":"a","content":"b"}`))
	f.Add([]byte(`{"sender":"a","content":"héllo €","thread":"t","metadata":{"k":"v"},"wait_for_response":true}`))
	f.Add([]byte(`{"sender":"a","content":"b"} {}`))
	f.Add([]byte(`{"sender":`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"metadata":{"a":[1]}}`))
	f.Add([]byte("{\"sender\":\"a\",\"content\":\"\xff\xfe\"}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeJSON(body)
		if err != nil {
			if req.Sender != "" || req.Content != "" {
				t.Errorf("decodeJSON returned %+v with error %v, want the zero message", req, err)
			}
			checkWords(t, err.Error())
			return
		}
		if strings.TrimSpace(req.Sender) == "" || len(req.Sender) > maxSenderBytes || req.Content == "" {
			t.Errorf("decodeJSON accepted %+v: want a sender of 1 to %d bytes and content", req, maxSenderBytes)
		}
		if !json.Valid(body) {
			t.Errorf("decodeJSON accepted invalid JSON %q", body)
		}
		for n := range min(len(req.Content), 40) + 1 {
			cut := truncate(req.Content, n)
			if len(cut) > n || !strings.HasPrefix(req.Content, cut) {
				t.Fatalf("truncate(%q, %d) = %q", req.Content, n, cut)
			}
			if utf8.ValidString(req.Content) && !utf8.ValidString(cut) {
				t.Fatalf("truncate(%q, %d) = %q is not valid UTF-8", req.Content, n, cut)
			}
		}
	})
}

// acceptSink accepts every message, so that the fuzzer never waits.
type acceptSink struct{ n atomic.Int64 }

func (s *acceptSink) Send(context.Context, Message) error { s.n.Add(1); return nil }
func (s *acceptSink) TrySend(Message) error               { s.n.Add(1); return nil }
func (s *acceptSink) Done() <-chan struct{}               { return nil }

// statuses lists every status the handler answers with.
var statuses = []string{
	"method_not_allowed", "unavailable", "unsupported_media_type", "rate_limited", "busy",
	"unauthorized", "too_large", "request_timeout", "bad_request", "id_reused", "not_started",
	"too_many_pending", "closed", "accepted", "replied", "timeout", "no_reply", "canceled", "reply_not_kept",
}

// FuzzHeaders sends the handler arbitrary signature headers, delivery IDs,
// content types and bodies, each with or without a valid signature added:
// it never panics, always answers the one JSON shape with a known status
// and the package's words, and accepts a request only if one of its
// signatures is right for its secret, ID, timestamp and body.
func FuzzHeaders(f *testing.F) {
	f.Add(vectorID, vectorTimestamp, vectorSignature, "", "", "application/json", []byte(vectorPayload), false)
	f.Add(vectorID, vectorTimestamp, vectorWrong+" "+vectorSignature, "", "", "text/plain", []byte(vectorPayload), false)
	f.Add("msg.x", "1614265330", "v1,", "", "key", "application/json", []byte(`{}`), true)
	f.Add("", "", "", githubSignature, "", "", []byte(githubPayload), false)
	f.Add("", "", "", "sha256=zz", `"k"`, "application/json; charset=utf-8", []byte(`{"sender":"a","content":"b"}`), true)
	f.Add("id", "99999999999999999999", "v1,AAAA v1a,BBBB", "", "", "", []byte{}, true)
	f.Add("id", "-300", "v1,====", "sha256=", strings.Repeat("k", 300), "application/json", []byte(`{"type":1}`), false)
	f.Fuzz(func(t *testing.T, id, ts, sig, hubSig, idem, contentType string, body []byte, addGood bool) {
		sw, _ := StandardWebhooks(vectorSecret)
		ghKey := []byte(githubSecret)
		for _, raw := range []bool{true, false} {
			h := New(Config{Raw: raw, Verifiers: []Verifier{sw, GitHub(ghKey)}, MaxBodyBytes: 1 << 10})
			h.now = func() time.Time { return vectorTime }
			sink := &acceptSink{}
			h.Attach(sink)

			hdr := http.Header{}
			set := func(k, v string) {
				if v != "" && isHeaderValue(v) {
					hdr.Set(k, v)
				}
			}
			set("Webhook-Id", id)
			set("Webhook-Timestamp", ts)
			set("Webhook-Signature", sig)
			set("X-Hub-Signature-256", hubSig)
			set("Idempotency-Key", idem)
			set("Content-Type", contentType)
			if addGood && hdr.Get("Webhook-Id") != "" && hdr.Get("Webhook-Timestamp") != "" {
				if good, err := SignStandard(vectorSecret, hdr.Get("Webhook-Id"), vectorTime, body); err == nil && hdr.Get("Webhook-Timestamp") == vectorTimestamp {
					hdr.Set("Webhook-Signature", strings.TrimSpace(hdr.Get("Webhook-Signature")+" "+good))
				}
			}
			req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			req.Header = hdr
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)

			var shape map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &shape); err != nil || len(shape) != 4 {
				t.Fatalf("answer %q is not the JSON shape: %v", w.Body.Bytes(), err)
			}
			if !slices.Contains(statuses, shape["status"]) {
				t.Errorf("unknown status %q", shape["status"])
			}
			checkWords(t, shape["error"])
			if w.Code/100 != 2 {
				if sink.n.Load() != 0 {
					t.Errorf("answered %d but sent a message", w.Code)
				}
				continue
			}
			if sink.n.Load() != 1 {
				t.Errorf("answered %d but sent %d messages", w.Code, sink.n.Load())
			}
			if !rightSignature(hdr, body, ghKey) {
				t.Errorf("accepted without a right signature: headers %v, body %q", hdr, body)
			}
		}
	})
}

// isHeaderValue reports whether v can be sent as a header value.
func isHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return strings.TrimSpace(v) == v
}

// rightSignature is the fuzzer's oracle, written apart from the
// verifiers: a request is signed if its GitHub header carries the GitHub
// key's HMAC of the body, or its Standard Webhooks headers carry, for a
// valid ID and a timestamp within 300 seconds, the vector key's HMAC of
// "id.timestamp.body" among its entries.
func rightSignature(hdr http.Header, body, ghKey []byte) bool {
	mac := hmac.New(sha256.New, ghKey)
	mac.Write(body)
	if strings.EqualFold(hdr.Get("X-Hub-Signature-256"), "sha256="+hex.EncodeToString(mac.Sum(nil))) {
		return true
	}
	id, ts := hdr.Get("Webhook-Id"), hdr.Get("Webhook-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || strings.ContainsAny(ts, "+-") || id == "" || len(id) > 256 || strings.Contains(id, ".") ||
		strings.IndexFunc(id, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 ||
		sec < vectorTime.Unix()-300 || sec > vectorTime.Unix()+300 {
		return false
	}
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(vectorSecret, "whsec_"))
	mac = hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	return slices.Contains(strings.Fields(hdr.Get("Webhook-Signature")), "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}
