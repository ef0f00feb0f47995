package plans

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestKafkaReassignmentFor(t *testing.T) {
	step := &Step{Number: 1, Phase: PhaseRaiseRF, Partitions: []Move{
		{Topic: "orders", Partition: 0, From: []int32{1, 2}, To: []int32{1, 2, 3, 4}, Size: 10},
		{Topic: "logs", Partition: 7, From: []int32{2, 1}, To: []int32{2, 1, 4, 3}},
	}}
	out, err := MarshalKafkaJSON(KafkaReassignmentFor(step))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":1,"partitions":[
{"topic":"orders","partition":0,"replicas":[1,2,3,4]},
{"topic":"logs","partition":7,"replicas":[2,1,4,3]}
]}
`
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	// It is plain JSON that Kafka's tool reads, and kshift reads it back.
	var generic map[string]any
	if err := json.Unmarshal(out, &generic); err != nil {
		t.Fatalf("not valid JSON: %v", err)
	}
	back, err := DecodeKafkaJSON(out, "export.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Partitions) != 2 || !slices.Equal(back.Partitions[1].Replicas, []int32{2, 1, 4, 3}) {
		t.Errorf("decoded %+v", back)
	}
}

func TestDecodeKafkaJSONErrors(t *testing.T) {
	cases := []struct {
		name, data, want string
	}{
		{"empty", ``, "file is empty"},
		{"truncated", `{"version":1,"partitions":[`, "ends in the middle"},
		{"syntax", "{\"version\":1,\n\"partitions\":[}]}", "line 2, column 15: malformed JSON"},
		{"trailing", `{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[1]}]} {}`, "data after the JSON object"},
		{"unknown top-level field", `{"version":1,"partitions":[],"extra":true}`, `unknown field "extra"`},
		{"not an object", `[1,2]`, "line 1, column 2: the top level must be plans.KafkaReassignment, not a JSON array"},
		{"missing partitions", `{"version":1}`, "partitions: is empty"},
		{"negative broker", `{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[1,-2]}]}`, "partitions[0] (a-0): replicas [1 -2] has a negative broker id"},
		{"log dirs count", `{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[1,2],"log_dirs":["any"]}]}`, "log_dirs has 1 entries for 2 replicas"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeKafkaJSON([]byte(tc.data), "in.json")
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.HasPrefix(err.Error(), "in.json: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want the file name and %q", err, tc.want)
			}
		})
	}
}
