// pulumi-resource-random stand-in for the engine tier: RandomPassword and RandomString only.
//
// pulumi-random's provider module (github.com/pulumi/pulumi-random/provider/v4) is not served by the Go module
// proxy this project's machines reach, at any version, so the real provider cannot be built here. The program
// uses exactly random:index/randomPassword:RandomPassword; this plugin implements that resource with the
// upstream semantics the program depends on: every input forces replacement, the result is generated once on
// create and kept in state (so no perpetual diff and no rotation on `up`), defaults as upstream (special, upper,
// lower, numeric all true), a bcrypt hash beside the result. The Python SDK marks result and bcryptHash secret.
// Where the real pulumi-resource-random is on PATH (a laptop, GitHub Actions) the build script uses it instead.
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"os"
	"sort"

	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc"
	pbempty "google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Version is set with -ldflags -X main.Version=...
var Version = "0.0.0-standin"

const (
	passwordType = "random:index/randomPassword:RandomPassword"
	stringType   = "random:index/randomString:RandomString"
	lowerChars   = "abcdefghijklmnopqrstuvwxyz"
	upperChars   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	numericChars = "0123456789"
	specialChars = "!@#$%&*()-_=+[]{}<>:?"
)

// inputKeys are the resource's inputs; all of them force replacement, as upstream.
var inputKeys = []string{
	"length", "special", "upper", "lower", "numeric", "number",
	"minLower", "minUpper", "minNumeric", "minSpecial", "overrideSpecial", "keepers",
}

type provider struct {
	pulumirpc.UnimplementedResourceProviderServer
}

func main() {
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(s *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(s, &provider{})
			return nil
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func (p *provider) GetPluginInfo(context.Context, *pbempty.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

func (p *provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *provider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *provider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: false, SupportsPreview: true}, nil
}

func (p *provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if t := req.GetType(); t != "" && t != passwordType && t != stringType {
		return nil, fmt.Errorf("this random stand-in implements only RandomPassword and RandomString, not %s", t)
	}
	in := req.GetNews().AsMap()
	failures := []*pulumirpc.CheckFailure{}
	length, ok := in["length"].(float64)
	if !ok || length < 1 {
		failures = append(failures, &pulumirpc.CheckFailure{Property: "length", Reason: "length must be >= 1"})
	}
	for _, k := range []string{"special", "upper", "lower", "numeric", "number"} {
		if _, set := in[k]; !set {
			in[k] = true
		}
	}
	for _, k := range []string{"minLower", "minUpper", "minNumeric", "minSpecial"} {
		if _, set := in[k]; !set {
			in[k] = float64(0)
		}
	}
	out, err := structpb.NewStruct(in)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: out, Failures: failures}, nil
}

func (p *provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds := req.GetOldInputs()
	if olds == nil {
		olds = req.GetOlds()
	}
	o, n := olds.AsMap(), req.GetNews().AsMap()
	var replaces []string
	for _, k := range inputKeys {
		if fmt.Sprint(o[k]) != fmt.Sprint(n[k]) {
			replaces = append(replaces, k)
		}
	}
	if len(replaces) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	sort.Strings(replaces)
	return &pulumirpc.DiffResponse{
		Changes: pulumirpc.DiffResponse_DIFF_SOME, Replaces: replaces, Diffs: replaces,
		DeleteBeforeReplace: false,
	}, nil
}

func (p *provider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	in := req.GetProperties().AsMap()
	state := map[string]any{}
	for k, v := range in {
		state[k] = v
	}
	if req.GetPreview() {
		out, err := structpb.NewStruct(state)
		return &pulumirpc.CreateResponse{Properties: out}, err
	}
	result, err := generate(in)
	if err != nil {
		return nil, err
	}
	state["result"] = result
	if req.GetType() != stringType {
		hash, err := bcrypt.GenerateFromPassword([]byte(result), bcrypt.DefaultCost)
		if err != nil {
			return nil, err
		}
		state["bcryptHash"] = string(hash)
	}
	out, err := structpb.NewStruct(state)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: "none", Properties: out}, nil
}

func (p *provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

func (p *provider) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	// Every input forces replacement, so an update only carries the old state forward.
	return &pulumirpc.UpdateResponse{Properties: req.GetOlds()}, nil
}

func (p *provider) Delete(context.Context, *pulumirpc.DeleteRequest) (*pbempty.Empty, error) {
	return &pbempty.Empty{}, nil
}

func (p *provider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: `{"name":"random","version":"` + Version + `"}`}, nil
}

func flag(in map[string]any, k string) bool {
	v, ok := in[k].(bool)
	return !ok || v
}

func count(in map[string]any, k string) int {
	v, _ := in[k].(float64)
	return int(v)
}

func pick(chars string) (byte, error) {
	i, err := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
	if err != nil {
		return 0, err
	}
	return chars[i.Int64()], nil
}

// generate follows upstream: the minimum counts first, the rest from every enabled class, then a shuffle.
func generate(in map[string]any) (string, error) {
	special := specialChars
	if s, ok := in["overrideSpecial"].(string); ok && s != "" {
		special = s
	}
	classes := []struct {
		chars string
		on    bool
		min   int
	}{
		{lowerChars, flag(in, "lower"), count(in, "minLower")},
		{upperChars, flag(in, "upper"), count(in, "minUpper")},
		{numericChars, flag(in, "numeric") && flag(in, "number"), count(in, "minNumeric")},
		{special, flag(in, "special"), count(in, "minSpecial")},
	}
	all := ""
	var out []byte
	for _, c := range classes {
		if !c.on {
			continue
		}
		all += c.chars
		for i := 0; i < c.min; i++ {
			b, err := pick(c.chars)
			if err != nil {
				return "", err
			}
			out = append(out, b)
		}
	}
	if all == "" {
		return "", fmt.Errorf("at least one character class must be enabled")
	}
	for len(out) < count(in, "length") {
		b, err := pick(all)
		if err != nil {
			return "", err
		}
		out = append(out, b)
	}
	for i := len(out) - 1; i > 0; i-- {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", err
		}
		out[i], out[j.Int64()] = out[j.Int64()], out[i]
	}
	return string(out), nil
}
