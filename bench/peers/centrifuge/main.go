// Centrifuge (the Go library behind Centrifugo, v0.15 from Debian) with its
// Redis broker: the Go anchor of the Hydra bench.
//
// MODE=clients (default) holds the WebSocket clients: each is subscribed
// server-side to the channels named in `?scopes=` of its upgrade request and
// needs only to send the connect command. MODE=api takes the bench
// publisher's bursts (POST /publish, a JSON array of {"channel","data"}) and
// publishes them in order through the Redis broker, so Redis is in the
// delivery path to the clients' node. Listens on 127.0.0.1 only.
//
// Build: GO111MODULE=off GOPATH=/usr/share/gocode go build -o centrifuge-server .
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/centrifugal/centrifuge"
)

type scopesKey struct{}

type publishItem struct {
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	mode := env("MODE", "clients")
	redisAddr := env("REDIS_ADDR", "127.0.0.1:6379")
	pingMs, _ := strconv.Atoi(env("PING_MS", "25000"))

	cfg := centrifuge.DefaultConfig
	cfg.LogLevel = centrifuge.LogLevelError
	cfg.LogHandler = func(e centrifuge.LogEntry) { log.Printf("%s %v", e.Message, e.Fields) }
	node, err := centrifuge.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	node.OnConnecting(func(ctx context.Context, e centrifuge.ConnectEvent) (centrifuge.ConnectReply, error) {
		subs := map[string]centrifuge.SubscribeOptions{}
		if scopes, ok := ctx.Value(scopesKey{}).([]string); ok {
			for _, s := range scopes {
				subs[s] = centrifuge.SubscribeOptions{}
			}
		}
		return centrifuge.ConnectReply{Credentials: &centrifuge.Credentials{UserID: ""}, Subscriptions: subs}, nil
	})
	node.OnConnect(func(client *centrifuge.Client) {})

	shard, err := centrifuge.NewRedisShard(node, centrifuge.RedisShardConfig{Address: redisAddr})
	if err != nil {
		log.Fatal(err)
	}
	broker, err := centrifuge.NewRedisBroker(node, centrifuge.RedisBrokerConfig{Shards: []*centrifuge.RedisShard{shard}})
	if err != nil {
		log.Fatal(err)
	}
	node.SetBroker(broker)
	if err := node.Run(); err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	if mode == "api" {
		mux.HandleFunc("/publish", func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			var items []publishItem
			if err := json.Unmarshal(body, &items); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			// In order: concurrent publishes could reorder a channel's messages.
			for _, it := range items {
				if _, err := node.Publish(it.Channel, it.Data); err != nil {
					http.Error(w, err.Error(), 500)
					return
				}
			}
			w.WriteHeader(200)
		})
	} else {
		ws := centrifuge.NewWebsocketHandler(node, centrifuge.WebsocketConfig{
			PingInterval: time.Duration(pingMs) * time.Millisecond,
			WriteTimeout: 10 * time.Second,
		})
		mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			scopes := strings.Split(r.URL.Query().Get("scopes"), ",")
			ws.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), scopesKey{}, scopes)))
		}))
	}

	ln, err := net.Listen("tcp", "127.0.0.1:"+env("PORT", "0"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("{\"listening\":%d}\n", ln.Addr().(*net.TCPAddr).Port)
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		os.Exit(0)
	}()
	log.Fatal(http.Serve(ln, mux))
}
