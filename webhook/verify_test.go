package webhook

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fanin-go/fanin"
)

// The Standard Webhooks specification's test vector, as its libraries'
// tests publish it (github.com/standard-webhooks/standard-webhooks,
// libraries/*/webhook_test): secret, message ID, timestamp, payload and
// the signature they give.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = "1614265330"
	vectorPayload   = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	// vectorWrong is the signature those tests use as the invalid one.
	vectorWrong = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
)

// GitHub's published example (docs.github.com, "Validating webhook
// deliveries"): this secret and payload give this signature.
const (
	githubSecret    = "It's a Secret to Everybody"
	githubPayload   = "Hello, World!"
	githubSignature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
)

func mustStandard(t *testing.T, secrets ...string) Verifier {
	t.Helper()
	v, err := StandardWebhooks(secrets...)
	if err != nil {
		t.Fatalf("StandardWebhooks(%q) = %v", secrets, err)
	}
	return v
}

// standardHeader returns the headers of a Standard Webhooks delivery
// signed with secret.
func standardHeader(t *testing.T, secret, id string, ts int64, body []byte) http.Header {
	t.Helper()
	sig, err := SignStandard(secret, id, time.Unix(ts, 0), body)
	if err != nil {
		t.Fatal(err)
	}
	return http.Header{"Webhook-Id": {id}, "Webhook-Timestamp": {strconv.FormatInt(ts, 10)}, "Webhook-Signature": {sig}}
}

func TestSignStandardVector(t *testing.T) {
	ts, _ := strconv.ParseInt(vectorTimestamp, 10, 64)
	for _, secret := range []string{vectorSecret, strings.TrimPrefix(vectorSecret, "whsec_")} {
		got, err := SignStandard(secret, vectorID, time.Unix(ts, 0), []byte(vectorPayload))
		if err != nil || got != vectorSignature {
			t.Errorf("SignStandard(%q, vector) = %q, %v, want %q", secret, got, err, vectorSignature)
		}
	}
}

func TestSignGitHubVector(t *testing.T) {
	got := "sha256=" + fmt.Sprintf("%x", Sign([]byte(githubSecret), []byte(githubPayload)))
	if got != githubSignature {
		t.Errorf("Sign(GitHub's example) = %s, want %s", got, githubSignature)
	}
}

// TestStandardVectorOverHTTP sends the published vector, headers written
// out as published, to a handler whose clock reads the vector's time.
func TestStandardVectorOverHTTP(t *testing.T) {
	vectorHeader := func(sig string) http.Header {
		return http.Header{"Webhook-Id": {vectorID}, "Webhook-Timestamp": {vectorTimestamp}, "Webhook-Signature": {sig}}
	}
	for _, tc := range []struct {
		name   string
		secret string
		header http.Header
		code   int
		status string
		reason string
	}{
		{"valid", vectorSecret, vectorHeader(vectorSignature), 202, "accepted", ""},
		{"valid, secret without prefix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", vectorHeader(vectorSignature), 202, "accepted", ""},
		{"invalid signature", vectorSecret, vectorHeader(vectorWrong), 401, "unauthorized", "invalid signature"},
		{"several signatures, one valid", vectorSecret, vectorHeader(strings.Join([]string{
			vectorWrong, "v2," + strings.TrimPrefix(vectorWrong, "v1,"), vectorSignature, vectorWrong}, " ")), 202, "accepted", ""},
		{"only other versions", vectorSecret, vectorHeader("v1a," + strings.TrimPrefix(vectorSignature, "v1,")), 401, "unauthorized", "invalid signature"},
		{"partial signature", vectorSecret, vectorHeader(vectorSignature[:8]), 401, "unauthorized", "invalid signature"},
		{"empty signature", vectorSecret, vectorHeader("v1,"), 401, "unauthorized", "invalid signature"},
		{"not base64", vectorSecret, vectorHeader("v1,dawfeoifkpqwoekfpqoekf"), 401, "unauthorized", "invalid signature"},
		{"signature split over two header lines", vectorSecret, http.Header{"Webhook-Id": {vectorID}, "Webhook-Timestamp": {vectorTimestamp},
			"Webhook-Signature": {vectorWrong, vectorSignature}}, 202, "accepted", ""},
		{"missing id", vectorSecret, http.Header{"Webhook-Timestamp": {vectorTimestamp}, "Webhook-Signature": {vectorSignature}}, 401, "unauthorized", "invalid signature"},
		{"missing timestamp", vectorSecret, http.Header{"Webhook-Id": {vectorID}, "Webhook-Signature": {vectorSignature}}, 401, "unauthorized", "invalid signature"},
		{"missing signature", vectorSecret, http.Header{"Webhook-Id": {vectorID}, "Webhook-Timestamp": {vectorTimestamp}}, 401, "unauthorized", "invalid signature"},
		{"no headers", vectorSecret, http.Header{}, 401, "unauthorized", "missing signature"},
		{"timestamp not a number", vectorSecret, http.Header{"Webhook-Id": {vectorID}, "Webhook-Timestamp": {"hello"}, "Webhook-Signature": {vectorSignature}}, 401, "unauthorized", "invalid signature"},
		{"timestamp with a sign", vectorSecret, http.Header{"Webhook-Id": {vectorID}, "Webhook-Timestamp": {"+" + vectorTimestamp}, "Webhook-Signature": {vectorSignature}}, 401, "unauthorized", "invalid signature"},
		{"other secret", "whsec_" + "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", vectorHeader(vectorSignature), 401, "unauthorized", "invalid signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{Verifiers: []Verifier{mustStandard(t, tc.secret)}, Raw: true}, 4)
			r := e.post([]byte(vectorPayload), "application/json", tc.header)
			check(t, r, tc.code, tc.status)
			if r.answer.Error != tc.reason {
				t.Errorf("reason = %q, want %q", r.answer.Error, tc.reason)
			}
			if tc.code == 202 {
				m := <-e.stream
				if string(m.Body) != vectorPayload || m.DeliveryID != vectorID || m.ID != r.answer.MessageID {
					t.Errorf("message = %+v, want the vector's body and ID", m)
				}
			} else if n := e.c.Len(); n != 0 {
				t.Errorf("stream holds %d messages after a refusal", n)
			}
		})
	}
}

// TestStandardTolerance checks the edges of the 5-minute tolerance, in
// whole seconds, both ways, with the handler's clock on a second and just
// before the next.
func TestStandardTolerance(t *testing.T) {
	const secret = vectorSecret
	body := []byte(`{"type":"user.created"}`)
	for _, frac := range []time.Duration{0, 999 * time.Millisecond} {
		e := newEnv(t, Config{Verifiers: []Verifier{mustStandard(t, secret)}, Raw: true}, 16)
		e.clk.Add(frac)
		now := vectorTime.Unix()
		for i, tc := range []struct {
			offset int64
			ok     bool
		}{
			{-300, true}, {300, true}, {0, true},
			{-301, false}, {301, false}, {-86400, false}, {1 << 40, false},
		} {
			id := fmt.Sprintf("msg_%d_%d", frac, i)
			r := e.post(body, "application/json", standardHeader(t, secret, id, now+tc.offset, body))
			if tc.ok {
				check(t, r, 202, "accepted")
				if m := <-e.stream; m.Event != "user.created" {
					t.Errorf("Event = %q, want the body's type", m.Event)
				}
			} else {
				check(t, r, 401, "unauthorized")
				if r.answer.Error != "timestamp outside the tolerance" {
					t.Errorf("offset %+ds: reason %q, want the tolerance named", tc.offset, r.answer.Error)
				}
			}
		}
	}
}

// TestStandardIDRules: a signed webhook-id that is malformed (empty,
// blank, too long, not visible ASCII) is refused 400 like any malformed
// delivery ID, once the signature holds; one with a "." is refused as a
// forgery, since the signed text could be split another way.
func TestStandardIDRules(t *testing.T) {
	e := newEnv(t, Config{Verifiers: []Verifier{mustStandard(t, vectorSecret)}, Raw: true}, 4)
	body := []byte(`{}`)
	r := e.post(body, "application/json", standardHeader(t, vectorSecret, "msg.1", vectorTime.Unix(), body))
	check(t, r, 401, "unauthorized")
	// (A blank one cannot be tested over the wire: net/http trims header
	// values, so the signed " " arrives as "" and the signature fails.)
	for _, id := range []string{"", "with space", strings.Repeat("x", 257), "tab\tid", "é"} {
		r := e.post(body, "application/json", standardHeader(t, vectorSecret, id, vectorTime.Unix(), body))
		if r.code != 400 {
			t.Errorf("webhook-id %q: %d %+v, want 400", id, r.code, r.answer)
		}
	}
	r = e.post(body, "application/json", standardHeader(t, vectorSecret, strings.Repeat("x", 256), vectorTime.Unix(), body))
	check(t, r, 202, "accepted")
}

func TestStandardBadSecrets(t *testing.T) {
	for _, secrets := range [][]string{nil, {"whsec_!!!"}, {"whsec_"}, {""}, {vectorSecret, "not base64 at all"}} {
		if _, err := StandardWebhooks(secrets...); !errors.Is(err, ErrBadSecret) {
			t.Errorf("StandardWebhooks(%q) = %v, want ErrBadSecret", secrets, err)
		}
	}
	if _, err := SignStandard("whsec_%%", "id", time.Now(), nil); !errors.Is(err, ErrBadSecret) {
		t.Errorf("SignStandard with a bad secret = %v, want ErrBadSecret", err)
	}
}

// TestHMACSchemes checks good and bad signatures of the sha256=<hex>
// scheme, in a header of one's own and in GitHub's.
func TestHMACSchemes(t *testing.T) {
	body := []byte(githubPayload)
	good := "sha256=" + fmt.Sprintf("%x", Sign([]byte(githubSecret), body))
	for _, tc := range []struct {
		name   string
		v      Verifier
		header string
		value  string
		code   int
		reason string
	}{
		{"own header, good", HMACSHA256("X-Sig", []byte(githubSecret)), "X-Sig", good, 202, ""},
		{"own header, upper-case hex", HMACSHA256("X-Sig", []byte(githubSecret)), "X-Sig", "sha256=" + strings.ToUpper(good[7:]), 202, ""},
		{"own header, wrong secret", HMACSHA256("X-Sig", []byte("other")), "X-Sig", good, 401, "invalid signature"},
		{"own header, in another header", HMACSHA256("X-Sig", []byte(githubSecret)), "X-Other", good, 401, "missing signature"},
		{"own header, no prefix", HMACSHA256("X-Sig", []byte(githubSecret)), "X-Sig", good[7:], 401, "invalid signature"},
		{"own header, sha1 prefix", HMACSHA256("X-Sig", []byte(githubSecret)), "X-Sig", "sha1=" + good[7:], 401, "invalid signature"},
		{"own header, short", HMACSHA256("X-Sig", []byte(githubSecret)), "X-Sig", good[:40], 401, "invalid signature"},
		{"own header, not hex", HMACSHA256("X-Sig", []byte(githubSecret)), "X-Sig", "sha256=" + strings.Repeat("zz", 32), 401, "invalid signature"},
		{"GitHub vector", GitHub([]byte(githubSecret)), "X-Hub-Signature-256", githubSignature, 202, ""},
		{"GitHub, one bit off", GitHub([]byte(githubSecret)), "X-Hub-Signature-256", githubSignature[:len(githubSignature)-1] + "6", 401, "invalid signature"},
		{"GitHub, missing", GitHub([]byte(githubSecret)), "X-Hub-Signature", "sha1=00", 401, "missing signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{Verifiers: []Verifier{tc.v}, Raw: true}, 4)
			hdr := http.Header{http.CanonicalHeaderKey(tc.header): {tc.value}}
			r := e.post(body, "text/plain", hdr)
			if r.code != tc.code || r.answer.Error != tc.reason {
				t.Errorf("answer = %d %q, want %d %q", r.code, r.answer.Error, tc.code, tc.reason)
			}
		})
	}
}

// TestGitHubDelivery: a real GitHub delivery, of GitHub's own shape, flows
// through in raw mode with its event, delivery ID and chosen headers.
func TestGitHubDelivery(t *testing.T) {
	key := []byte(githubSecret)
	e := newEnv(t, Config{Verifiers: []Verifier{GitHub(key)}, Raw: true, Headers: []string{"Content-Type", "X-GitHub-Hook-ID"}}, 4)
	body := []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)
	hdr := hmacHeader("X-Hub-Signature-256", key, body)
	hdr.Set("X-GitHub-Event", "ping")
	hdr.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	hdr.Set("X-GitHub-Hook-ID", "1")
	r := e.post(body, "application/json", hdr)
	check(t, r, 202, "accepted")
	m := <-e.stream
	if !bytes.Equal(m.Body, body) || m.Event != "ping" || m.DeliveryID != "72d3162e-cc78-11e3-81ab-4c9367dc0958" ||
		m.Header.Get("X-Github-Hook-Id") != "1" || m.Header.Get("Content-Type") != "application/json" || m.Content != "" {
		t.Errorf("message = %+v, want GitHub's body, event, delivery ID and headers", m)
	}
	// A form-encoded delivery is raw bytes too.
	form := []byte("payload=%7B%7D")
	hdr = hmacHeader("X-Hub-Signature-256", key, form)
	hdr.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0959")
	check(t, e.post(form, "application/x-www-form-urlencoded", hdr), 202, "accepted")
	if m := <-e.stream; !bytes.Equal(m.Body, form) {
		t.Errorf("Body = %q, want %q", m.Body, form)
	}
	// Raw mode still wants something to deliver.
	empty := hmacHeader("X-Hub-Signature-256", key, nil)
	check(t, e.post(nil, "application/json", empty), 400, "bad_request")
}

// TestRotation: several secrets are valid at once, in every scheme, and a
// secret taken out stops working.
func TestRotation(t *testing.T) {
	const oldSecret, newSecret = vectorSecret, "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"
	body := []byte(`{"n":1}`)
	ts := vectorTime.Unix()

	both := newEnv(t, Config{Verifiers: []Verifier{mustStandard(t, oldSecret, newSecret)}, Raw: true}, 8)
	check(t, both.post(body, "application/json", standardHeader(t, oldSecret, "a", ts, body)), 202, "accepted")
	check(t, both.post(body, "application/json", standardHeader(t, newSecret, "b", ts, body)), 202, "accepted")
	// A sender in the middle of its own rotation signs with both.
	h := standardHeader(t, oldSecret, "c", ts, body)
	h2 := standardHeader(t, newSecret, "c", ts, body)
	h.Set("Webhook-Signature", h.Get("Webhook-Signature")+" "+h2.Get("Webhook-Signature"))
	check(t, both.post(body, "application/json", h), 202, "accepted")

	after := newEnv(t, Config{Verifiers: []Verifier{mustStandard(t, newSecret)}, Raw: true}, 8)
	check(t, after.post(body, "application/json", standardHeader(t, oldSecret, "d", ts, body)), 401, "unauthorized")
	check(t, after.post(body, "application/json", standardHeader(t, newSecret, "e", ts, body)), 202, "accepted")

	a, b := []byte("old hmac secret"), []byte("new hmac secret")
	e := newEnv(t, Config{Verifiers: []Verifier{HMACSHA256("", a, b)}}, 8)
	m := msg("alice", "hi", false)
	check(t, e.post(m, "application/json", hmacHeader(DefaultSignatureHeader, a, m)), 202, "accepted")
	check(t, e.post(m, "application/json", hmacHeader(DefaultSignatureHeader, b, m)), 202, "accepted")
	check(t, e.post(m, "application/json", hmacHeader(DefaultSignatureHeader, []byte("c"), m)), 401, "unauthorized")
}

// TestSeveralSchemes serves GitHub, Standard Webhooks and a plain HMAC
// header at once: each is accepted with its own secret only.
func TestSeveralSchemes(t *testing.T) {
	gh, plain := []byte("github secret"), []byte("plain secret")
	e := newEnv(t, Config{Raw: true, Verifiers: []Verifier{
		GitHub(gh), mustStandard(t, vectorSecret), HMACSHA256("X-Plain", plain),
	}}, 16)
	body := []byte(`{"k":"v"}`)
	ts := vectorTime.Unix()
	check(t, e.post(body, "application/json", hmacHeader("X-Hub-Signature-256", gh, body)), 202, "accepted")
	check(t, e.post(body, "application/json", standardHeader(t, vectorSecret, "m1", ts, body)), 202, "accepted")
	check(t, e.post(body, "application/json", hmacHeader("X-Plain", plain, body)), 202, "accepted")
	// Each header with another scheme's secret.
	check(t, e.post(body, "application/json", hmacHeader("X-Hub-Signature-256", plain, body)), 401, "unauthorized")
	check(t, e.post(body, "application/json", hmacHeader("X-Plain", gh, body)), 401, "unauthorized")
	// A bad signature in one scheme does not spoil a good one in another.
	hdr := standardHeader(t, vectorSecret, "m2", ts, []byte("another body"))
	for k, v := range hmacHeader("X-Plain", plain, body) {
		hdr[k] = v
	}
	check(t, e.post(body, "application/json", hdr), 202, "accepted")
	// A stale timestamp is named even when the other schemes find nothing.
	r := e.post(body, "application/json", standardHeader(t, vectorSecret, "m3", ts-3600, body))
	if r.code != 401 || r.answer.Error != "timestamp outside the tolerance" {
		t.Errorf("stale request = %d %q, want 401 naming the tolerance", r.code, r.answer.Error)
	}
	if got := e.c.Len(); got != 4 {
		t.Errorf("stream holds %d messages, want 4", got)
	}
}

// TestEventTypeExact: the Event of a Standard Webhooks delivery is its one
// "type" member, matched exactly, and a string.
func TestEventTypeExact(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"data":{"type":"inner"},"type":"outer"}`, "outer"},
		{`{"typ\u0065":"escaped"}`, "escaped"}, // the same name, written otherwise
		{`{"type":"a","type":"b"}`, ""},
		{`{"type":7}`, ""},
		{`{"type":"a"} {}`, ""},
		{`["type","a"]`, ""},
		{`{"type":"` + strings.Repeat("t", maxDeliveryIDBytes+1) + `"}`, strings.Repeat("t", maxDeliveryIDBytes+1)},
	} {
		if got := eventType([]byte(tc.body)); got != tc.want {
			t.Errorf("eventType(%.40s) = %q, want %q", tc.body, got, tc.want)
		}
	}
}

// TestDuplicatedHeaders: a request that carries a header the handler acts
// on more than once is refused, whichever copy is the right one, and
// nothing enters the stream; the headers as real senders write them, each
// once with several signatures in one, are accepted. (webhook-signature
// lines are a list; TestStandardVectorOverHTTP splits one over two.)
func TestDuplicatedHeaders(t *testing.T) {
	gh := []byte(githubSecret)
	e := newEnv(t, Config{
		Raw:       true,
		Verifiers: []Verifier{GitHub(gh), mustStandard(t, vectorSecret), HMACSHA256("", secret)},
		RateLimit: []fanin.Band{{Events: 100, Interval: time.Second, Burst: 100}},
		RateKey:   ByHeader("X-Client"),
	}, 16)
	body := []byte(`{"k":"v"}`)
	ts := vectorTime.Unix()
	ghSig := hmacHeader("X-Hub-Signature-256", gh, body).Get("X-Hub-Signature-256")
	github := func(extra ...string) http.Header {
		h := http.Header{"X-Hub-Signature-256": {ghSig}, "X-Github-Delivery": {"d-1"}, "X-Github-Event": {"push"}, "X-Client": {"c"}}
		for i := 0; i < len(extra); i += 2 {
			h.Add(extra[i], extra[i+1])
		}
		return h
	}
	standard := func(extra ...string) http.Header {
		h := standardHeader(t, vectorSecret, "m-1", ts, body)
		h.Set("X-Client", "c")
		for i := 0; i < len(extra); i += 2 {
			h.Add(extra[i], extra[i+1])
		}
		return h
	}
	plain := hmacHeader(DefaultSignatureHeader, secret, body)
	plain.Set("X-Client", "c")
	plain.Add("Idempotency-Key", "k-1")
	plain.Add("Idempotency-Key", "k-2")
	garbage := "sha256=" + strings.Repeat("0", 64)
	for _, tc := range []struct {
		name   string
		hdr    http.Header
		code   int
		reason string
	}{
		{"GitHub signature, right one first", github("X-Hub-Signature-256", garbage), 401, "X-Hub-Signature-256 sent more than once"},
		{"GitHub signature, right one last", func() http.Header {
			h := github()
			h["X-Hub-Signature-256"] = []string{garbage, ghSig}
			return h
		}(), 401, "X-Hub-Signature-256 sent more than once"},
		{"GitHub delivery ID", github("X-GitHub-Delivery", "d-2"), 401, "X-GitHub-Delivery sent more than once"},
		{"GitHub event", github("X-GitHub-Event", "ping"), 401, "X-GitHub-Event sent more than once"},
		{"webhook-id", standard("webhook-id", "m-2"), 401, "webhook-id sent more than once"},
		{"webhook-timestamp", standard("webhook-timestamp", strconv.FormatInt(ts, 10)), 401, "webhook-timestamp sent more than once"},
		{"Idempotency-Key", plain, 400, "Idempotency-Key sent more than once"},
		{"the rate-limit header", github("X-Client", "d"), 400, "X-Client sent more than once"},
	} {
		r := e.post(body, "application/json", tc.hdr)
		if r.code != tc.code || r.answer.Error != tc.reason {
			t.Errorf("%s twice: answer = %d %q, want %d %q", tc.name, r.code, r.answer.Error, tc.code, tc.reason)
		}
	}
	if n := e.c.Len(); n != 0 {
		t.Errorf("stream holds %d messages after refusals, want 0", n)
	}
	check(t, e.post(body, "application/json", github()), 202, "accepted")
	several := standard()
	several.Set("Webhook-Signature", vectorWrong+" "+several.Get("Webhook-Signature")+" v1a,AAAA")
	check(t, e.post(body, "application/json", several), 202, "accepted")
	// A repeated header spoils its own scheme only: another may verify.
	both := standard("X-Hub-Signature-256", ghSig, "X-Hub-Signature-256", garbage)
	for k, v := range standardHeader(t, vectorSecret, "m-2", ts, body) {
		both[k] = v
	}
	check(t, e.post(body, "application/json", both), 202, "accepted")
}

// TestRefusedOnHeadersUnread: a request its headers already condemn is
// answered without its body being read, and closes the connection.
func TestRefusedOnHeadersUnread(t *testing.T) {
	e := newEnv(t, Config{Raw: true, Verifiers: []Verifier{mustStandard(t, vectorSecret), GitHub(secret)}}, 4)
	e.h.hook = func(step string) {
		if step == "read body" {
			t.Error("a body was read for a request refused on its headers")
		}
	}
	body := bytes.Repeat([]byte("x"), 64<<10)
	for _, hdr := range []http.Header{
		{},                               // no signature at all
		{"X-Hub-Signature-256": {"md5"}}, // malformed
		standardHeader(t, vectorSecret, "old", vectorTime.Unix()-3600, body), // stale
		{"Webhook-Id": {"a"}, "Webhook-Timestamp": {"1"}},                    // incomplete
	} {
		r := e.post(body, "application/octet-stream", hdr)
		if r.code != 401 || !r.closed {
			t.Errorf("headers %v: answer %d, connection closed %v; want 401 and closed", hdr, r.code, r.closed)
		}
	}
}

// TestCustomVerifierDelivery: a VerifierFunc's Delivery reaches the
// message, and a verifier that accepts on headers alone still has the
// body read for the message.
func TestCustomVerifierDelivery(t *testing.T) {
	token := VerifierFunc(func(r *Request) (Delivery, error) {
		switch r.Header.Get("X-Token") {
		case "":
			return Delivery{}, ErrNoSignature
		case "let me in":
			return Delivery{ID: r.Header.Get("X-Id"), Event: "custom"}, nil
		}
		return Delivery{}, errors.New("some detail the caller must not see")
	})
	e := newEnv(t, Config{Raw: true, Verifiers: []Verifier{token}}, 4)
	body := []byte("raw bytes")
	r := e.post(body, "text/plain", http.Header{"X-Token": {"let me in"}, "X-Id": {"d1"}})
	check(t, r, 202, "accepted")
	if m := <-e.stream; string(m.Body) != "raw bytes" || m.Event != "custom" || m.DeliveryID != "d1" {
		t.Errorf("message = %+v, want the body, event and ID", m)
	}
	r = e.post(body, "text/plain", http.Header{"X-Token": {"wrong"}})
	if r.code != 401 || r.answer.Error != "invalid signature" {
		t.Errorf("answer = %d %q, want 401 with the package's words", r.code, r.answer.Error)
	}
}

// TestEmptyGitHubDeliveryRefused: an X-GitHub-Delivery header that is
// there but empty, or blank, is a malformed delivery ID, refused 400 as
// documented; it used to be taken as no ID, and every copy was delivered.
func TestEmptyGitHubDeliveryRefused(t *testing.T) {
	gh := []byte("github secret")
	e := newEnv(t, Config{Verifiers: []Verifier{GitHub(gh)}}, 8)
	body := msg("alice", "hi", false)
	for _, id := range []string{"", "   "} {
		hdr := hmacHeader("X-Hub-Signature-256", gh, body)
		hdr.Set("X-GitHub-Delivery", id)
		r := e.post(body, "application/json", hdr)
		check(t, r, 400, "bad_request")
		if r.answer.Error != badDeliveryID {
			t.Errorf("X-GitHub-Delivery %q: reason %q, want %q", id, r.answer.Error, badDeliveryID)
		}
	}
	if n := e.c.Len(); n != 0 {
		t.Errorf("stream holds %d messages, want 0", n)
	}
}

// TestStandardLongEventType: a Standard Webhooks "type" of any length is
// the message's Event; one over 256 bytes used to give an empty Event,
// which the documentation did not say.
func TestStandardLongEventType(t *testing.T) {
	long := strings.Repeat("e", 300)
	e := newEnv(t, Config{Raw: true, Verifiers: []Verifier{mustStandard(t, vectorSecret)}}, 4)
	body := []byte(`{"type":"` + long + `"}`)
	check(t, e.post(body, "application/json", standardHeader(t, vectorSecret, "msg_1", vectorTime.Unix(), body)), 202, "accepted")
	if m := <-e.stream; m.Event != long {
		t.Errorf("Event has %d bytes, want the 300 of the type", len(m.Event))
	}
}
