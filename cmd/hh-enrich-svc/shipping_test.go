package main

import (
	"bufio"
	"bytes"
	"go/ast"
	goparser "go/parser"
	"go/token"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"go.yaml.in/yaml/v4"
)

// These tests check what ships beside the code: the Dockerfile (no Docker engine
// runs on our machines, so it is parsed with BuildKit's own parser), the local
// compose stack, .env.example and the README's configuration table. The variable
// names come from the source itself (configVariables), so a variable added to the
// code without documentation fails here.

// dockerStage is one FROM of the Dockerfile and the instructions under it.
type dockerStage struct {
	image, name  string
	instructions []*parser.Node
}

func parseDockerfile(t *testing.T) []dockerStage {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := parser.Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("Dockerfile does not parse: %v", err)
	}
	var stages []dockerStage
	for _, n := range res.AST.Children {
		if strings.EqualFold(n.Value, "from") {
			a := nodeArgs(n)
			st := dockerStage{image: a[0]}
			if len(a) == 3 && strings.EqualFold(a[1], "as") {
				st.name = a[2]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			continue // ARG before the first FROM
		}
		last := &stages[len(stages)-1]
		last.instructions = append(last.instructions, n)
	}
	return stages
}

// nodeArgs are an instruction's arguments, in order.
func nodeArgs(n *parser.Node) []string {
	var out []string
	for a := n.Next; a != nil; a = a.Next {
		out = append(out, a.Value)
	}
	return out
}

// all returns the stage's instructions of one kind.
func (s dockerStage) all(kind string) []*parser.Node {
	var out []*parser.Node
	for _, n := range s.instructions {
		if strings.EqualFold(n.Value, kind) {
			out = append(out, n)
		}
	}
	return out
}

// env is the stage's ENV settings (BuildKit gives each as name, value, "=").
func (s dockerStage) env() map[string]string {
	env := map[string]string{}
	for _, n := range s.all("env") {
		a := nodeArgs(n)
		for i := 0; i+1 < len(a); i += 3 {
			env[a[i]] = a[i+1]
		}
	}
	return env
}

func (s dockerStage) runs(substr string) bool {
	for _, n := range s.all("run") {
		if strings.Contains(strings.Join(nodeArgs(n), " "), substr) {
			return true
		}
	}
	return false
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t)
	if len(stages) < 2 {
		t.Fatalf("want a build stage and a runtime stage, got %d stages", len(stages))
	}
	build, runtime := stages[0], stages[len(stages)-1]
	env := runtime.env()

	t.Run("BuildsWithTheModulesGoAndRunsOnPython311", func(t *testing.T) {
		goVersion := goDirective(t)
		if build.name != "build" || !strings.HasPrefix(build.image, "golang:"+goVersion) {
			t.Errorf("first stage is %q AS %q, want golang:%s… AS build", build.image, build.name, goVersion)
		}
		if runtime.name != "runtime" || !strings.HasPrefix(runtime.image, "python:3.11") {
			t.Errorf("final stage is %q AS %q, want python:3.11… AS runtime", runtime.image, runtime.name)
		}
		if !build.runs("go build") || !build.runs("./cmd/hh-enrich-svc") {
			t.Error("the build stage does not build ./cmd/hh-enrich-svc")
		}
	})

	t.Run("RunsAsANonRootUser", func(t *testing.T) {
		users := runtime.all("user")
		if len(users) == 0 {
			t.Fatal("the runtime stage has no USER: it would run as root")
		}
		user, _, _ := strings.Cut(nodeArgs(users[len(users)-1])[0], ":")
		if user == "root" || user == "0" {
			t.Errorf("final USER is %q", user)
		}
		if !runtime.runs("useradd") || !runtime.runs(" "+user) {
			t.Errorf("no RUN creates user %q", user)
		}
	})

	t.Run("ChecksHealthOnSlashHealth", func(t *testing.T) {
		checks := runtime.all("healthcheck")
		if len(checks) != 1 {
			t.Fatalf("want one HEALTHCHECK in the runtime stage, got %d", len(checks))
		}
		a := nodeArgs(checks[0])
		if len(a) < 2 || !strings.EqualFold(a[0], "cmd") {
			t.Fatalf("HEALTHCHECK %q: want a CMD", a)
		}
		if cmd := strings.Join(a[1:], " "); !strings.Contains(cmd, "/health") || !strings.Contains(cmd, "PORT") {
			t.Errorf("HEALTHCHECK does not request /health on $PORT: %s", cmd)
		}
	})

	t.Run("StartsTheServiceUnderTini", func(t *testing.T) {
		entry := runtime.all("entrypoint")
		if len(entry) != 1 || !entry[0].Attributes["json"] {
			t.Fatal(`want one ENTRYPOINT in exec form (["…"]), so that tini is PID 1`)
		}
		want := []string{"/usr/bin/tini", "--", copiedBinary(t, runtime, "hh-enrich-svc")}
		if got := nodeArgs(entry[0]); !slices.Equal(got, want) {
			t.Errorf("ENTRYPOINT %q, want %q", got, want)
		}
		if !runtime.runs("install") || !runtime.runs("tini") {
			t.Error("no RUN installs tini")
		}
	})

	t.Run("PointsThePoolAtTheVenvAndThePlugin", func(t *testing.T) {
		venv := regexp.MustCompile(`python3? -m venv (\S+)`)
		var venvDir string
		for _, n := range runtime.all("run") {
			if m := venv.FindStringSubmatch(strings.Join(nodeArgs(n), " ")); m != nil {
				venvDir = m[1]
			}
		}
		if venvDir == "" || env["ENRICH_PYTHON_BIN"] != venvDir+"/bin/python" {
			t.Errorf("ENRICH_PYTHON_BIN=%q, want the venv's interpreter (venv %q)/bin/python", env["ENRICH_PYTHON_BIN"], venvDir)
		}
		workdirs := runtime.all("workdir")
		if len(workdirs) == 0 {
			t.Fatal("the runtime stage has no WORKDIR")
		}
		script := nodeArgs(workdirs[len(workdirs)-1])[0] + "/cloud_run_worker/plugin_server.py"
		if env["ENRICH_PLUGIN_SCRIPT"] != script {
			t.Errorf("ENRICH_PLUGIN_SCRIPT=%q, want %q (where the COPY puts it)", env["ENRICH_PLUGIN_SCRIPT"], script)
		}
	})

	t.Run("ExposesThePortItListensOn", func(t *testing.T) {
		exposed := runtime.all("expose")
		if len(exposed) != 1 || nodeArgs(exposed[0])[0] != env["PORT"] {
			t.Errorf("EXPOSE must be ENV PORT (%q)", env["PORT"])
		}
	})

	t.Run("KeepsLocalStateOutOfTheContext", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join(repoRoot(t), ".dockerignore"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Fields(string(raw))
		for _, want := range []string{".git", ".venv", "bin", ".env"} {
			if !slices.Contains(lines, want) {
				t.Errorf(".dockerignore lacks %s", want)
			}
		}
	})
}

// copiedBinary is where the runtime stage's COPY --from=build puts the named
// binary.
func copiedBinary(t *testing.T, s dockerStage, name string) string {
	t.Helper()
	for _, n := range s.all("copy") {
		if !slices.Contains(n.Flags, "--from=build") {
			continue
		}
		a := nodeArgs(n)
		srcs, dest := a[:len(a)-1], a[len(a)-1]
		for _, src := range srcs {
			if filepath.Base(src) == name {
				if strings.HasSuffix(dest, "/") {
					return dest + name
				}
				return dest
			}
		}
	}
	t.Fatalf("no COPY --from=build brings %s into the runtime stage", name)
	return ""
}

// goDirective is go.mod's Go version as major.minor.
func goDirective(t *testing.T) string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		if v, ok := strings.CutPrefix(scanner.Text(), "go "); ok {
			parts := strings.Split(strings.TrimSpace(v), ".")
			return parts[0] + "." + parts[1]
		}
	}
	t.Fatal("go.mod has no go directive")
	return ""
}

// libraryVariables are read by libraries, not by our code, and documented because
// operators set them.
var libraryVariables = map[string]bool{
	"GOOGLE_APPLICATION_CREDENTIALS": true, // Application Default Credentials
}

// configVariables is every variable the service (this package's source) and its
// plugins (cloud_run_worker, tests left out) read.
func configVariables(t *testing.T) map[string]bool {
	t.Helper()
	vars := goConfigVariables(t)
	for name := range pythonConfigVariables(t) {
		vars[name] = true
	}
	// The extraction must keep finding what it is known to find, or it has broken.
	for _, known := range []string{"PORT", "REDIS_URL", "ISSUER_CONFIGS", "EMBED_SERVICE_URL", "FIREBASE_EMULATOR_HOST",
		"TOGETHER_API_KEY", "TOGETHER_AI_TIMEOUT", "LOG_LEVEL", "HH_ENRICH_PLUGIN"} {
		if !vars[known] {
			t.Fatalf("the variable extraction missed %s: fix configVariables", known)
		}
	}
	return vars
}

var envName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// goConfigVariables reads this package's non-test Go files: the name arguments of
// envReader's methods (the parameter called name, or every one of names...) and of
// os.Getenv / os.LookupEnv, resolving a variable assigned a literal in the same
// function (ISSUER_CONFIGS is read through one).
func goConfigVariables(t *testing.T) map[string]bool {
	t.Helper()
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := goparser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	nameParams := envReaderNameParams(files)
	vars := map[string]bool{}
	for _, f := range files {
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			literals := assignedLiterals(fn)
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				for _, arg := range nameArgs(call, nameParams) {
					for _, v := range stringValues(arg, literals) {
						if envName.MatchString(v) {
							vars[v] = true
						}
					}
				}
				return true
			})
		}
	}
	return vars
}

// envReaderNameParams maps each envReader method to the index of its name
// parameter; variadic ("names ...string") is marked by a negative index -i-1.
func envReaderNameParams(files []*ast.File) map[string]int {
	out := map[string]int{}
	for _, f := range files {
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || receiverType(fn.Recv.List[0].Type) != "envReader" {
				continue
			}
			i := 0
			for _, field := range fn.Type.Params.List {
				for _, id := range field.Names {
					switch id.Name {
					case "name":
						out[fn.Name.Name] = i
					case "names":
						out[fn.Name.Name] = -i - 1
					}
					i++
				}
			}
		}
	}
	return out
}

func receiverType(e ast.Expr) string {
	if star, ok := e.(*ast.StarExpr); ok {
		e = star.X
	}
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// nameArgs are the call's arguments that name an environment variable.
func nameArgs(call *ast.CallExpr, nameParams map[string]int) []ast.Expr {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return nil
	}
	if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "os" && (sel.Sel.Name == "Getenv" || sel.Sel.Name == "LookupEnv") {
		return call.Args
	}
	i, ok := nameParams[sel.Sel.Name]
	switch {
	case !ok:
		return nil
	case i >= 0 && i < len(call.Args):
		return call.Args[i : i+1]
	case i < 0 && -i-1 < len(call.Args):
		return call.Args[-i-1:]
	}
	return nil
}

// assignedLiterals maps each variable of fn to the string literals assigned to it.
func assignedLiterals(fn *ast.FuncDecl) map[string][]string {
	out := map[string][]string{}
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != len(as.Rhs) {
			return true
		}
		for i, lhs := range as.Lhs {
			if id, ok := lhs.(*ast.Ident); ok {
				out[id.Name] = append(out[id.Name], stringValues(as.Rhs[i], nil)...)
			}
		}
		return true
	})
	return out
}

func stringValues(e ast.Expr, literals map[string][]string) []string {
	switch v := e.(type) {
	case *ast.BasicLit:
		if s, err := strconv.Unquote(v.Value); err == nil && v.Kind == token.STRING {
			return []string{s}
		}
	case *ast.Ident:
		return literals[v.Name]
	}
	return nil
}

// pythonReads match the plugins' reads: os.environ.get("X"), env.get("X") on the
// mapping passed down from os.environ, helpers called as f(env, "X"), and the same
// with a module constant holding the name.
var (
	pythonReads = regexp.MustCompile(`(?:\b(?:os\.environ|env)\.get\(|os\.getenv\(|os\.environ\[|\(\s*env\s*,)\s*(?:["']([A-Z][A-Z0-9_]*)["']|([A-Z][A-Z0-9_]*)\b)`)
	pythonConst = regexp.MustCompile(`(?m)^([A-Z][A-Z0-9_]*)\s*=\s*["']([A-Z][A-Z0-9_]*)["']`)
)

func pythonConfigVariables(t *testing.T) map[string]bool {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(repoRoot(t), "cloud_run_worker", "*.py"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no plugin sources: %v", err)
	}
	vars := map[string]bool{}
	for _, path := range paths {
		base := filepath.Base(path)
		if strings.HasPrefix(base, "test_") || strings.Contains(base, "_pb2") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		consts := map[string]string{}
		for _, m := range pythonConst.FindAllSubmatch(src, -1) {
			consts[string(m[1])] = string(m[2])
		}
		for _, m := range pythonReads.FindAllSubmatch(src, -1) {
			if len(m[1]) > 0 {
				vars[string(m[1])] = true
			} else if name, ok := consts[string(m[2])]; ok {
				vars[name] = true
			}
		}
	}
	return vars
}

// envExampleLine is one NAME=value of .env.example, active or commented out.
type envExampleLine struct {
	name, value string
	active      bool
}

var envAssignment = regexp.MustCompile(`^(#\s?)?([A-Z][A-Z0-9_]*)=(.*)$`)

func readEnvExample(t *testing.T) []envExampleLine {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	var out []envExampleLine
	for _, line := range strings.Split(string(raw), "\n") {
		if m := envAssignment.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			out = append(out, envExampleLine{name: m[2], value: m[3], active: m[1] == ""})
		}
	}
	return out
}

// readmeConfigNames are the variables named in the first column of the tables
// of the README's "Configuration" section (up to the next "## " heading).
func readmeConfigNames(t *testing.T) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## Configuration\n")
	if !ok {
		t.Fatal(`README.md has no "## Configuration" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	names := map[string]bool{}
	code := regexp.MustCompile("`([^`]+)`")
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "|") || len(cells) < 3 {
			continue
		}
		for _, m := range code.FindAllStringSubmatch(cells[1], -1) {
			if envName.MatchString(m[1]) {
				names[m[1]] = true
			}
		}
	}
	return names
}

func TestEveryVariableIsDocumented(t *testing.T) {
	vars := configVariables(t)
	env := readEnvExample(t)
	readme := readmeConfigNames(t)
	inEnv := map[string]int{}
	for _, l := range env {
		inEnv[l.name]++
	}
	t.Run("InEnvExampleOnce", func(t *testing.T) {
		for _, name := range sortedKeys(vars) {
			if n := inEnv[name]; n != 1 {
				t.Errorf("%s is read by the code and appears %d times in .env.example, want once", name, n)
			}
		}
	})
	t.Run("InTheReadmeTable", func(t *testing.T) {
		for _, name := range sortedKeys(vars) {
			if !readme[name] {
				t.Errorf("%s is read by the code but missing from the README's Configuration table", name)
			}
		}
	})
	t.Run("NothingDocumentedThatIsNotRead", func(t *testing.T) {
		for _, name := range append(sortedKeys(inEnv), sortedKeys(readme)...) {
			if !vars[name] && !libraryVariables[name] {
				t.Errorf("%s is documented but nothing reads it (a typo, or a removed variable)", name)
			}
		}
	})
}

// TestEnvExampleShowsTheDefaults parses .env.example as the service would: its
// active lines must make a valid configuration, and each commented line must
// hold the default (uncommenting it changes nothing), so the file never lies.
func TestEnvExampleShowsTheDefaults(t *testing.T) {
	active, all := map[string]string{}, map[string]string{}
	for _, l := range readEnvExample(t) {
		all[l.name] = l.value
		if l.active {
			active[l.name] = l.value
		}
	}
	want, err := ParseConfig(env(active))
	if err != nil {
		t.Fatalf(".env.example's active lines are not a valid configuration: %v", err)
	}
	got, err := ParseConfig(env(all))
	if err != nil {
		t.Fatalf("uncommenting .env.example's lines makes an invalid configuration: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("a commented line of .env.example is not the default (-active lines only +all lines):\n%s", diff)
	}
}

// composeFile is the part of docker-compose.local.yml these tests read.
type composeFile struct {
	Services map[string]struct {
		Build       string            `yaml:"build"`
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		EnvFile     string            `yaml:"env_file"`
		Ports       []string          `yaml:"ports"`
		Environment map[string]string `yaml:"environment"`
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
		Healthcheck *struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
}

func TestComposeStack(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "docker-compose.local.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("docker-compose.local.yml: %v", err)
	}
	svc, redis := c.Services["hh-enrich-svc"], c.Services["redis"]
	t.Run("BuildsTheServiceWithItsEnvFile", func(t *testing.T) {
		if svc.Build != "." || svc.EnvFile != ".env" {
			t.Errorf("hh-enrich-svc: build %q env_file %q, want . and .env", svc.Build, svc.EnvFile)
		}
		vars := configVariables(t)
		for name := range svc.Environment {
			if !vars[name] {
				t.Errorf("hh-enrich-svc sets %s, which nothing reads", name)
			}
		}
	})
	t.Run("WiresRedisFirestoreAndEmbed", func(t *testing.T) {
		e := svc.Environment
		embedURL, _ := url.Parse(e["ENRICH_EMBED_BASE_URL"])
		firestoreHost, _, _ := strings.Cut(e["FIRESTORE_EMULATOR_HOST"], ":")
		for _, dep := range []string{e["REDIS_HOST"], firestoreHost, embedURL.Hostname()} {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("hh-enrich-svc points at %q, which is not a service of the stack", dep)
			}
		}
		for _, dep := range []string{"redis", "embed"} {
			if svc.DependsOn[dep].Condition != "service_healthy" {
				t.Errorf("hh-enrich-svc does not wait for %s to be healthy", dep)
			}
		}
	})
	t.Run("RunsRedisWithAOFAndNoEviction", func(t *testing.T) {
		cmd := strings.Join(redis.Command, " ")
		if !strings.HasPrefix(redis.Image, "redis:7") || !strings.Contains(cmd, "--appendonly yes") ||
			!strings.Contains(cmd, "--maxmemory-policy noeviction") {
			t.Errorf("redis: image %q command %q, want redis:7 with --appendonly yes --maxmemory-policy noeviction", redis.Image, cmd)
		}
	})
	t.Run("PublishesEveryPortOnLoopbackOnly", func(t *testing.T) {
		for name, s := range c.Services {
			for _, p := range s.Ports {
				if !strings.HasPrefix(p, "127.0.0.1:") {
					t.Errorf("service %s publishes %q on every interface; want 127.0.0.1:host:container", name, p)
				}
			}
		}
		if len(svc.Ports) == 0 {
			t.Error("hh-enrich-svc publishes no port")
		}
	})
	t.Run("ChecksEveryDependencysHealth", func(t *testing.T) {
		for _, name := range []string{"redis", "firestore", "embed"} {
			if s, ok := c.Services[name]; !ok || s.Healthcheck == nil || len(s.Healthcheck.Test) == 0 {
				t.Errorf("service %s is missing or has no healthcheck", name)
			}
		}
	})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
