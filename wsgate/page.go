package wsgate

import (
	_ "embed"
	"net/http"
)

// page is the chat page served at "/": plain HTML and JavaScript, no
// framework, no build step.
//
//go:embed page/index.html
var page []byte

func servePage(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.Write(page)
}
