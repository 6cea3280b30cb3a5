// pulumi-language-python for the engine tier, used only where upstream's host cannot be had.
//
// Upstream's host (module github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3) is not served
// by the Go module proxy this project's machines reach, while the SDK's own program runner
// (sdk/v3/python/cmd/pulumi-language-python-exec) is. This host does what upstream's does for `pulumi
// preview/up/destroy` of a project with `runtime.options.virtualenv`: it starts the SDK's runner under the
// virtualenv's python with the engine's arguments and config, and reports the exit status. Dependency
// installation, codegen, `pulumi about` and plugin discovery are not implemented (the engine loads the
// providers the program registers, and the e2e registers those with `pulumi plugin install --file`).
// Where upstream's binary is on PATH, scripts/engine/build_pulumi_tools.sh uses that instead.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	pbempty "google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// exitUserActionable is the runner's code for "an error message was already shown to the user".
const exitUserActionable = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	mu     sync.Mutex
	engine string
	runner string
}

func main() {
	// The engine passes logging/tracing flags and then the engine address; only the address matters here.
	var engine string
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--tracing" || a == "-tracing" {
			i++
			continue
		}
		if !strings.HasPrefix(a, "-") {
			engine = a
		}
	}
	self, err := os.Executable()
	if err != nil {
		fail(err)
	}
	runner := filepath.Join(filepath.Dir(self), "pulumi-language-python-exec")
	if _, err := os.Stat(runner); err != nil {
		fail(fmt.Errorf("the SDK's runner must sit next to this host: %w", err))
	}
	h := &host{engine: engine, runner: runner}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(s *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(s, h)
			return nil
		},
	})
	if err != nil {
		fail(err)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "pulumi-language-python: %v\n", err)
	os.Exit(1)
}

func (h *host) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if req.GetEngineAddress() != "" {
		h.engine = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *pbempty.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

func (h *host) GetRequiredPlugins(
	context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *host) GetRequiredPackages(
	context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

// python picks the project's virtualenv interpreter (runtime.options.virtualenv, relative to Pulumi.yaml).
func python(info *pulumirpc.ProgramInfo) (string, []string, error) {
	env := os.Environ()
	venv := ""
	if info != nil && info.GetOptions() != nil {
		if v, ok := info.GetOptions().AsMap()["virtualenv"].(string); ok {
			venv = v
		}
	}
	if venv == "" {
		p, err := exec.LookPath("python3")
		return p, env, err
	}
	if !filepath.IsAbs(venv) {
		venv = filepath.Join(info.GetRootDirectory(), venv)
	}
	py := filepath.Join(venv, "bin", "python")
	if _, err := os.Stat(py); err != nil {
		return "", nil, fmt.Errorf("runtime.options.virtualenv %q has no bin/python: %w", venv, err)
	}
	env = append(env, "VIRTUAL_ENV="+venv, "PATH="+filepath.Join(venv, "bin")+":"+os.Getenv("PATH"))
	return py, env, nil
}

func (h *host) Run(_ context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	py, env, err := python(req.GetInfo())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	h.mu.Lock()
	engine := h.engine
	h.mu.Unlock()
	args := []string{"-u", h.runner}
	add := func(k, v string) {
		if v != "" {
			args = append(args, "--"+k, v)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", engine)
	add("project", req.GetProject())
	add("stack", req.GetStack())
	add("pwd", req.GetPwd())
	add("dry_run", strconv.FormatBool(req.GetDryRun()))
	add("parallel", strconv.Itoa(int(req.GetParallel())))
	add("organization", req.GetOrganization())
	if info := req.GetInfo(); info != nil {
		add("root_directory", info.GetRootDirectory())
	}
	program := req.GetProgram()
	if info := req.GetInfo(); info != nil && info.GetProgramDirectory() != "" {
		program = info.GetProgramDirectory()
		if e := info.GetEntryPoint(); e != "" && e != "." {
			program = filepath.Join(program, e)
		}
	}
	if program == "" {
		program = "."
	}
	args = append(args, program)
	args = append(args, req.GetArgs()...)

	// The runner reads both as JSON objects/lists: never "null".
	configMap := req.GetConfig()
	if configMap == nil {
		configMap = map[string]string{}
	}
	keys := req.GetConfigSecretKeys()
	if keys == nil {
		keys = []string{}
	}
	config, err := json.Marshal(configMap)
	if err != nil {
		return nil, err
	}
	secretKeys, err := json.Marshal(keys)
	if err != nil {
		return nil, err
	}
	env = append(env, "PULUMI_CONFIG="+string(config), "PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys))

	cmd := exec.Command(py, args...)
	cmd.Env = env
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if exitErr.ExitCode() == exitUserActionable {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode()),
			}, nil
		}
		return &pulumirpc.RunResponse{Error: "could not run the Python program: " + err.Error()}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}
