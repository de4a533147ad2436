package fanin

import "errors"

// ErrRefused is wrapped by the error of a [Sink] that refuses a value for
// good: the value itself is at fault (it cannot be encoded, or it asks for
// something the stream cannot give, such as a reply that cannot travel
// back), so sending the same value again would fail alike. A Sink wraps
// it, with fmt.Errorf("...: %w", ErrRefused) or an error whose Is method
// matches it, and a caller that relays values from elsewhere tells its own
// caller that the request, not the service, is wrong: the webhook package
// answers such a send 422 refused, with the error's text as the reason, and
// without Retry-After.
//
// A Sink that returns an error matching ErrRefused has placed nothing in
// the stream. The sinks of this package never return it: [Sender] refuses
// only for the run's state ([ErrClosed], a full buffer, ctx), which a
// retry may cure.
var ErrRefused = errors.New("fanin: value refused")
