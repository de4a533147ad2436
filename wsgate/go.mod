module github.com/fanin-go/fanin/wsgate

go 1.26.0

require (
	github.com/coder/websocket v1.8.15
	github.com/fanin-go/fanin v0.0.0
	go.uber.org/goleak v1.3.0
)

replace github.com/fanin-go/fanin => ../
