package queue

import (
	"reflect"
	"testing"

	"github.com/hibiken/asynq"
)

// TestRedisOpt parses every Redis URL form relais accepts.
func TestRedisOpt(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want asynq.RedisConnOpt
	}{
		{"redis://:pw@127.0.0.1:6379/2", asynq.RedisClientOpt{Addr: "127.0.0.1:6379", Password: "pw", DB: 2}},
		{"redis-sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/mymaster?db=3",
			asynq.RedisFailoverClientOpt{MasterName: "mymaster", SentinelAddrs: []string{"10.0.0.1:26379", "10.0.0.2:26379"}, Password: "pw", DB: 3}},
		{"redis-sentinel://h1:26379/m?sentinel_password=s",
			asynq.RedisFailoverClientOpt{MasterName: "m", SentinelAddrs: []string{"h1:26379"}, SentinelPassword: "s"}},
		{"redis-cluster://:pw@h1:7000,h2:7001/", asynq.RedisClusterClientOpt{Addrs: []string{"h1:7000", "h2:7001"}, Password: "pw"}},
	} {
		got, err := RedisOpt(tc.url)
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %#v, want %#v", tc.url, got, tc.want)
		}
	}
	for _, bad := range []string{"redis-sentinel://h1:26379/", "redis-cluster://h1:7000/3", "redis://h1:1,h2:2/0", "redis-cluster://h1:7000,,h2:1/"} {
		if _, err := RedisOpt(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}
