// Package snowfake is a test-only Snowflake server backed by DuckDB. It
// speaks the parts of Snowflake's REST protocol the unmodified gosnowflake
// driver uses (login with password, key-pair JWT or programmatic access
// token; query-request with JSON results and scalar or array bindings;
// session close; telemetry), answers errors in Snowflake's shape, and keeps
// Snowflake's transaction rule that DDL commits an open transaction. The SQL
// itself runs in DuckDB after a few type names are rewritten, so it proves
// the protocol path and the portable SQL, not Snowflake's optimizer or its
// exact type system (see README "Snowflake" for what it cannot prove).
package snowfake

import (
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	duck "github.com/duckdb/duckdb-go/v2"
	"github.com/golang-jwt/jwt/v5"
)

// User is an account the server accepts. Set one of Password, PublicKey
// (key-pair JWT) or Token (programmatic access token).
type User struct {
	Password  string
	PublicKey *rsa.PublicKey
	Token     string
	Role      string // default role
}

// Grant is one row of SHOW GRANTS TO ROLE.
type Grant struct {
	Privilege string // USAGE, CREATE TABLE, CREATE STAGE, OWNERSHIP, ...
	GrantedOn string // WAREHOUSE, DATABASE, SCHEMA, ROLE
	Name      string // DEVPULSE_WH, ANALYTICS, ANALYTICS.DEVPULSE, or an inherited role
}

// Server is a running fake.
type Server struct {
	URL     string // http://127.0.0.1:port
	Host    string
	Port    int
	Account string

	ts       *httptest.Server
	db       *sql.DB
	mu       sync.Mutex
	users    map[string]User
	grants   map[string][]Grant
	sessions map[string]*session
	locks    map[string]tableLock
	faults   []fault
	nextID   atomic.Int64

	// BindStageThreshold is the CLIENT_STAGE_ARRAY_BINDING_THRESHOLD the
	// login announces (Snowflake's default, 65,280); 0 keeps every bind inline.
	BindStageThreshold int
	stageKey           []byte                // master key of the bind stage's client-side encryption
	staged             map[string]stagedFile // uploaded files by "<request uuid>/<name>"

	// Counters for tests and benchmarks.
	Logins, Queries, ArrayBinds, StagedBinds, BoundRows atomic.Int64
	stmtLog                                             []string
	logStatements                                       bool
}

type fault struct {
	prefix string // upper-cased statement prefix
	code   string
	msg    string
}

type session struct {
	mu                         sync.Mutex
	conn                       *sql.Conn
	inTx                       bool
	user, role, wh, db, schema string
	tempTables                 map[string]bool
	held                       map[string]bool // table locks held (Snowflake-style DML serialization)
}

// New starts a fake for one account, its DuckDB database in memory.
func New(account string) (*Server, error) {
	connector, err := duck.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("snowfake: open duckdb: %w", err)
	}
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	s := &Server{Account: account, db: sql.OpenDB(connector), users: map[string]User{}, grants: map[string][]Grant{}, sessions: map[string]*session{},
		locks: map[string]tableLock{}, BindStageThreshold: 65280, stageKey: key, staged: map[string]stagedFile{}}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	u, _ := url.Parse(s.ts.URL)
	s.URL = s.ts.URL
	s.Host = u.Hostname()
	s.Port, _ = strconv.Atoi(u.Port())
	return s, nil
}

// AddUser registers a user.
func (s *Server) AddUser(name string, u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[strings.ToUpper(name)] = u
}

// SetGrants sets what SHOW GRANTS TO ROLE role answers.
func (s *Server) SetGrants(role string, g []Grant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grants[strings.ToUpper(role)] = g
}

// FailNext makes the next statement starting with prefix (case-insensitive)
// fail with a Snowflake error, before it runs.
func (s *Server) FailNext(prefix, code, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{prefix: strings.ToUpper(prefix), code: code, msg: msg})
}

// LogStatements starts recording every statement text (for tests that check
// what the engine sends).
func (s *Server) LogStatements() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logStatements = true
	s.stmtLog = nil
}

// Statements returns the recorded statement texts.
func (s *Server) Statements() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.stmtLog...)
}

// DB is the DuckDB database behind the fake, for assertions.
func (s *Server) DB() *sql.DB { return s.db }

// Close stops the server and drops the database.
func (s *Server) Close() {
	s.ts.Close()
	s.mu.Lock()
	for _, se := range s.sessions {
		se.conn.Close()
	}
	s.sessions = map[string]*session{}
	s.mu.Unlock()
	s.db.Close()
}

// --- HTTP ---

type response struct {
	Data    any     `json:"data"`
	Code    *string `json:"code"`
	Message *string `json:"message"`
	Success bool    `json:"success"`
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func ok(w http.ResponseWriter, data any) { writeJSON(w, response{Data: data, Success: true}) }

// sfError answers in Snowflake's error shape (HTTP 200, success false).
func sfError(w http.ResponseWriter, code, sqlState, msg, queryID string) {
	data := map[string]any{"errorCode": code, "sqlState": sqlState, "queryId": queryID, "internalError": false}
	writeJSON(w, response{Data: data, Code: &code, Message: &msg, Success: false})
}

func readBody(r *http.Request, v any) error {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			return err
		}
		defer gz.Close()
		body = gz
	}
	return json.NewDecoder(body).Decode(v)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/session/v1/login-request":
		s.login(w, r)
	case "/queries/v1/query-request":
		s.query(w, r)
	case "/session":
		if r.URL.Query().Get("delete") == "true" {
			s.closeSession(r)
		}
		ok(w, nil)
	case "/telemetry/send", "/session/heartbeat":
		ok(w, nil)
	case "/session/token-request":
		// Sessions here never expire, so a renewal only has to succeed.
		ok(w, map[string]any{"sessionToken": s.sessionToken(r), "validityInSecondsST": 3600})
	default:
		if strings.HasPrefix(r.URL.Path, "/stage/") && r.Method == http.MethodPut {
			s.upload(w, r) // a presigned upload of staged binds
			return
		}
		http.Error(w, "snowfake: no endpoint "+r.URL.Path, http.StatusNotFound)
	}
}

type loginRequest struct {
	Data struct {
		AccountName       string         `json:"ACCOUNT_NAME"`
		LoginName         string         `json:"LOGIN_NAME"`
		Password          string         `json:"PASSWORD"`
		Authenticator     string         `json:"AUTHENTICATOR"`
		Token             string         `json:"TOKEN"`
		SessionParameters map[string]any `json:"SESSION_PARAMETERS"`
	} `json:"data"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := readBody(r, &req); err != nil {
		sfError(w, "390101", "08004", "malformed login request: "+err.Error(), "")
		return
	}
	d := req.Data
	s.mu.Lock()
	u, known := s.users[strings.ToUpper(d.LoginName)]
	s.mu.Unlock()
	if !strings.EqualFold(d.AccountName, s.Account) {
		sfError(w, "390100", "08004", "Incorrect username or password was specified.", "")
		return
	}
	switch strings.ToUpper(d.Authenticator) {
	case "SNOWFLAKE_JWT":
		// A key-pair login names its user only inside the JWT (sub = ACCOUNT.USER).
		claims := jwt.MapClaims{}
		_, _, _ = jwt.NewParser().ParseUnverified(d.Token, claims)
		sub, _ := claims["sub"].(string)
		_, user, _ := strings.Cut(sub, ".")
		s.mu.Lock()
		u, known = s.users[strings.ToUpper(user)]
		s.mu.Unlock()
		d.LoginName = user
		if !known || u.PublicKey == nil || verifyJWT(d.Token, s.Account, user, u.PublicKey) != nil {
			sfError(w, "390144", "08004", "JWT token is invalid.", "")
			return
		}
	case "PROGRAMMATIC_ACCESS_TOKEN":
		if !known || u.Token == "" || d.Token != u.Token {
			sfError(w, "394400", "08004", "Programmatic access token is invalid.", "")
			return
		}
	case "", "SNOWFLAKE":
		if !known || u.Password == "" || d.Password != u.Password {
			sfError(w, "390100", "08004", "Incorrect username or password was specified.", "")
			return
		}
	default:
		sfError(w, "390100", "08004", "Authenticator "+d.Authenticator+" is not supported by this server.", "")
		return
	}
	q := r.URL.Query()
	conn, err := s.db.Conn(r.Context())
	if err != nil {
		sfError(w, "390100", "08004", "cannot open session: "+err.Error(), "")
		return
	}
	if _, err := conn.ExecContext(r.Context(), `SET TimeZone = 'UTC'`); err != nil {
		conn.Close()
		sfError(w, "390100", "08004", "cannot open session: "+err.Error(), "")
		return
	}
	se := &session{conn: conn, user: strings.ToUpper(d.LoginName), role: strings.ToUpper(firstNonEmpty(q.Get("roleName"), u.Role, "PUBLIC")),
		wh: strings.ToUpper(q.Get("warehouse")), db: strings.ToUpper(q.Get("databaseName")), schema: strings.ToUpper(q.Get("schemaName")),
		tempTables: map[string]bool{}, held: map[string]bool{}}
	token := randomHex(16)
	s.mu.Lock()
	s.sessions[token] = se
	s.mu.Unlock()
	s.Logins.Add(1)
	ok(w, map[string]any{
		"token": token, "validityInSeconds": 3600, "masterToken": "master-" + token, "masterValidityInSeconds": 14400,
		"displayUserName": se.user, "serverVersion": "snowfake", "firstLogin": false, "healthCheckInterval": 45,
		"sessionId": s.nextID.Add(1),
		"parameters": []map[string]any{
			{"name": "TIMEZONE", "value": "UTC"},
			{"name": "AUTOCOMMIT", "value": true},
			{"name": "CLIENT_SESSION_KEEP_ALIVE", "value": false},
			{"name": "CLIENT_TELEMETRY_ENABLED", "value": false},
			{"name": "CLIENT_STAGE_ARRAY_BINDING_THRESHOLD", "value": s.BindStageThreshold},
		},
		"sessionInfo": map[string]any{"databaseName": se.db, "schemaName": se.schema, "warehouseName": se.wh, "roleName": se.role},
	})
}

// verifyJWT checks what Snowflake checks of a key-pair login: RS256 signed
// by the registered key, iss = ACCOUNT.USER.SHA256:<fingerprint>, sub = ACCOUNT.USER.
func verifyJWT(token, account, user string, pub *rsa.PublicKey) error {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		if _, isRSA := t.Method.(*jwt.SigningMethodRSA); !isRSA {
			return nil, fmt.Errorf("unexpected signing method %v", t.Header["alg"])
		}
		return pub, nil
	}, jwt.WithExpirationRequired())
	if err != nil {
		return err
	}
	der, _ := x509.MarshalPKIXPublicKey(pub)
	sum := sha256.Sum256(der)
	prefix := strings.ToUpper(strings.Split(account, ".")[0] + "." + user)
	wantIss := prefix + ".SHA256:" + base64.StdEncoding.EncodeToString(sum[:])
	if iss, _ := claims["iss"].(string); iss != wantIss {
		return fmt.Errorf("iss %q, want %q", iss, wantIss)
	}
	if sub, _ := claims["sub"].(string); sub != prefix {
		return fmt.Errorf("sub %q, want %q", sub, prefix)
	}
	return nil
}

func (s *Server) sessionToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const p = `Snowflake Token="`
	if !strings.HasPrefix(h, p) {
		return ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(h, p), `"`)
}

func (s *Server) closeSession(r *http.Request) {
	tok := s.sessionToken(r)
	s.mu.Lock()
	se := s.sessions[tok]
	delete(s.sessions, tok)
	s.mu.Unlock()
	if se != nil {
		se.mu.Lock()
		if se.inTx {
			_, _ = se.conn.ExecContext(context.Background(), "ROLLBACK")
		}
		s.unlockTables(se)
		se.conn.Close()
		se.mu.Unlock()
	}
}

type binding struct {
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

type queryRequest struct {
	SQLText   string             `json:"sqlText"`
	Bindings  map[string]binding `json:"bindings"`
	BindStage string             `json:"bindStage"`
}

func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	se := s.sessions[s.sessionToken(r)]
	s.mu.Unlock()
	if se == nil {
		sfError(w, "390104", "08001", "User must login again to access the service.", "")
		return
	}
	var req queryRequest
	if err := readBody(r, &req); err != nil {
		sfError(w, "001003", "42000", "SQL compilation error: malformed request: "+err.Error(), "")
		return
	}
	qid := fmt.Sprintf("01fa%04x-0000-0000-0000-%012x", s.nextID.Add(1)&0xffff, s.nextID.Load())
	s.Queries.Add(1)
	if f, hit := s.takeFault(req.SQLText); hit {
		sfError(w, f.code, "XX000", f.msg, qid)
		return
	}
	s.mu.Lock()
	if s.logStatements {
		s.stmtLog = append(s.stmtLog, req.SQLText)
	}
	s.mu.Unlock()
	se.mu.Lock()
	defer se.mu.Unlock()
	data, err := s.run(r.Context(), se, req)
	if err != nil {
		code, state := "002003", "42S02"
		var se *sfErr
		if errors.As(err, &se) {
			code, state = se.code, se.state
		}
		sfError(w, code, state, err.Error(), qid)
		return
	}
	data["queryId"] = qid
	data["queryResultFormat"] = "json"
	data["finalDatabaseName"] = se.db
	data["finalSchemaName"] = se.schema
	data["finalWarehouseName"] = se.wh
	data["finalRoleName"] = se.role
	ok(w, data)
}

type sfErr struct{ code, state, msg string }

func (e *sfErr) Error() string { return e.msg }

func (s *Server) takeFault(q string) (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := strings.ToUpper(strings.TrimSpace(q))
	for i, f := range s.faults {
		if strings.HasPrefix(u, f.prefix) {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
			return f, true
		}
	}
	return fault{}, false
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
