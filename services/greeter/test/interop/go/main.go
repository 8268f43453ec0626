// Command greeter-interop is a grpc-go client that calls every RPC of lattice.greeter.v1.GreeterService, plus the
// standard health service, and checks the answers. It is the Go half of the greeter interop tests; the Python
// client in ../python does the same checks.
//
// It prints one JSON line per check, {"check":"<name>","ok":true|false,"detail":"..."}, and exits 0 only when
// every check passed (1 when one failed, 2 on bad arguments).
//
// The greeter stubs are generated into the build folder by ../build.sh; build with that script, not by hand.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	greeterv1 "lattice/interop/greeter/gen/greeterv1"
)

// callTimeout is the deadline of every single RPC.
const callTimeout = 10 * time.Second

const greeterServiceName = "lattice.greeter.v1.GreeterService"

type result struct {
	Check  string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

type check struct {
	name string
	run  func(greeterv1.GreeterServiceClient, grpc_health_v1.HealthClient) (string, error)
}

func main() {
	flags := flag.NewFlagSet("greeter-interop", flag.ContinueOnError)
	target := flags.String("target", "", "host:port of the greeter server (required)")
	if err := flags.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *target == "" || flags.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: greeter-interop --target host:port")
		os.Exit(2)
	}

	conn, err := grpc.NewClient(*target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintf(os.Stderr, "greeter-interop: cannot create a client for %q: %v\n", *target, err)
		os.Exit(2)
	}
	defer conn.Close()
	greeter := greeterv1.NewGreeterServiceClient(conn)
	health := grpc_health_v1.NewHealthClient(conn)

	checks := []check{
		{"greet", checkGreet},
		{"greet_invalid_argument", checkGreetInvalidArgument},
		{"list_greetings", checkListGreetings},
		{"record_greetings", checkRecordGreetings},
		{"chat_greetings", checkChatGreetings},
		{"health", checkHealth},
	}

	out := json.NewEncoder(os.Stdout)
	out.SetEscapeHTML(false)
	allOK := true
	for _, c := range checks {
		detail, err := c.run(greeter, health)
		r := result{Check: c.name, OK: err == nil, Detail: detail}
		if err != nil {
			allOK = false
			r.Detail = err.Error()
		}
		if encodeErr := out.Encode(r); encodeErr != nil {
			fmt.Fprintf(os.Stderr, "greeter-interop: cannot write a result: %v\n", encodeErr)
			os.Exit(1)
		}
	}
	if !allOK {
		os.Exit(1)
	}
}

func callContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), callTimeout)
}

// expect collects the mismatches of one check.
type expect []string

func (e *expect) equal(what string, got, want any) {
	if got != want {
		*e = append(*e, fmt.Sprintf("%s: got %q, want %q", what, fmt.Sprint(got), fmt.Sprint(want)))
	}
}

func (e expect) err() error {
	if len(e) == 0 {
		return nil
	}
	return errors.New(strings.Join(e, "; "))
}

func checkGreet(greeter greeterv1.GreeterServiceClient, _ grpc_health_v1.HealthClient) (string, error) {
	cases := []struct {
		language greeterv1.Language
		message  string
	}{
		{greeterv1.Language_LANGUAGE_ENGLISH, "Hello, Ada!"},
		{greeterv1.Language_LANGUAGE_FRENCH, "Bonjour, Ada !"},
	}
	var e expect
	var got []string
	for _, c := range cases {
		ctx, cancel := callContext()
		resp, err := greeter.Greet(ctx, &greeterv1.GreetRequest{Name: "Ada", Language: c.language})
		cancel()
		if err != nil {
			return "", fmt.Errorf("Greet(Ada, %s) failed: %w", c.language, err)
		}
		e.equal(fmt.Sprintf("Greet(Ada, %s).message", c.language), resp.GetMessage(), c.message)
		e.equal(fmt.Sprintf("Greet(Ada, %s).language", c.language), resp.GetLanguage(), c.language)
		got = append(got, resp.GetMessage())
	}
	return strings.Join(got, " | "), e.err()
}

func checkGreetInvalidArgument(greeter greeterv1.GreeterServiceClient, _ grpc_health_v1.HealthClient) (string, error) {
	ctx, cancel := callContext()
	defer cancel()
	_, err := greeter.Greet(ctx, &greeterv1.GreetRequest{Name: ""})
	if err == nil {
		return "", errors.New("Greet with an empty name succeeded, want INVALID_ARGUMENT")
	}
	st, ok := status.FromError(err)
	if !ok {
		return "", fmt.Errorf("error is not a gRPC status: %v", err)
	}
	if st.Code() != codes.InvalidArgument {
		return "", fmt.Errorf("status %s (%q), want InvalidArgument", st.Code(), st.Message())
	}
	var fields []string
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				if v.GetField() == "name" {
					return fmt.Sprintf("InvalidArgument %q, BadRequest violation on name: %q", st.Message(), v.GetDescription()), nil
				}
				fields = append(fields, v.GetField())
			}
		case error:
			return "", fmt.Errorf("cannot decode a status detail: %v", d)
		}
	}
	if fields == nil {
		return "", fmt.Errorf("InvalidArgument %q carries no google.rpc.BadRequest field violation (%d details)", st.Message(), len(st.Details()))
	}
	return "", fmt.Errorf("google.rpc.BadRequest has no violation on name, only on %v", fields)
}

func checkListGreetings(greeter greeterv1.GreeterServiceClient, _ grpc_health_v1.HealthClient) (string, error) {
	want := []struct {
		language greeterv1.Language
		message  string
	}{
		{greeterv1.Language_LANGUAGE_ENGLISH, "Hello, Ada!"},
		{greeterv1.Language_LANGUAGE_FRENCH, "Bonjour, Ada !"},
		{greeterv1.Language_LANGUAGE_SPANISH, "¡Hola, Ada!"},
		{greeterv1.Language_LANGUAGE_GERMAN, "Hallo, Ada!"},
		{greeterv1.Language_LANGUAGE_JAPANESE, "こんにちは、Adaさん！"},
	}
	ctx, cancel := callContext()
	defer cancel()
	stream, err := greeter.ListGreetings(ctx, &greeterv1.ListGreetingsRequest{Name: "Ada", Count: int32(len(want))})
	if err != nil {
		return "", fmt.Errorf("ListGreetings failed: %w", err)
	}
	var got []*greeterv1.ListGreetingsResponse
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("ListGreetings failed after %d messages: %w", len(got), err)
		}
		got = append(got, resp)
	}
	var e expect
	e.equal("message count", len(got), len(want))
	for i, resp := range got {
		if i >= len(want) {
			break
		}
		e.equal(fmt.Sprintf("message %d sequence", i+1), resp.GetSequence(), int32(i+1))
		e.equal(fmt.Sprintf("message %d language", i+1), resp.GetLanguage(), want[i].language)
		e.equal(fmt.Sprintf("message %d text", i+1), resp.GetMessage(), want[i].message)
	}
	return fmt.Sprintf("%d greetings, the last %q", len(got), lastMessage(got)), e.err()
}

func lastMessage(responses []*greeterv1.ListGreetingsResponse) string {
	if len(responses) == 0 {
		return ""
	}
	return responses[len(responses)-1].GetMessage()
}

func checkRecordGreetings(greeter greeterv1.GreeterServiceClient, _ grpc_health_v1.HealthClient) (string, error) {
	ctx, cancel := callContext()
	defer cancel()
	stream, err := greeter.RecordGreetings(ctx)
	if err != nil {
		return "", fmt.Errorf("RecordGreetings failed: %w", err)
	}
	for _, name := range []string{"Ada", "Grace", "Ada", "Linus"} {
		if err := stream.Send(&greeterv1.RecordGreetingsRequest{Name: name}); err != nil {
			// The real error is the status, which CloseAndRecv returns.
			break
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return "", fmt.Errorf("RecordGreetings failed: %w", err)
	}
	var e expect
	e.equal("count", resp.GetCount(), int32(4))
	e.equal("distinct_count", resp.GetDistinctCount(), int32(3))
	e.equal("message", resp.GetMessage(), "Hello, Ada, Grace and Linus!")
	return fmt.Sprintf("count %d, distinct %d, %q", resp.GetCount(), resp.GetDistinctCount(), resp.GetMessage()), e.err()
}

func checkChatGreetings(greeter greeterv1.GreeterServiceClient, _ grpc_health_v1.HealthClient) (string, error) {
	ctx, cancel := callContext()
	defer cancel()
	stream, err := greeter.ChatGreetings(ctx)
	if err != nil {
		return "", fmt.Errorf("ChatGreetings failed: %w", err)
	}
	turns := []struct {
		request  *greeterv1.ChatGreetingsRequest
		message  string
		language greeterv1.Language
	}{
		{&greeterv1.ChatGreetingsRequest{Name: "Ada", Language: greeterv1.Language_LANGUAGE_FRENCH}, "Bonjour, Ada !", greeterv1.Language_LANGUAGE_FRENCH},
		{&greeterv1.ChatGreetingsRequest{Name: "Grace"}, "Hello, Grace!", greeterv1.Language_LANGUAGE_ENGLISH},
	}
	var e expect
	var got []string
	for i, turn := range turns {
		// Each reply must come back while the stream is still open for sending.
		if err := stream.Send(turn.request); err != nil {
			_, recvErr := stream.Recv()
			return "", fmt.Errorf("sending %q failed: %v (stream status: %v)", turn.request.GetName(), err, recvErr)
		}
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("stream ended before the reply to %q", turn.request.GetName())
		}
		if err != nil {
			return "", fmt.Errorf("waiting for the reply to %q: %w", turn.request.GetName(), err)
		}
		e.equal(fmt.Sprintf("reply %d message", i+1), resp.GetMessage(), turn.message)
		e.equal(fmt.Sprintf("reply %d language", i+1), resp.GetLanguage(), turn.language)
		got = append(got, resp.GetMessage())
	}
	if err := stream.CloseSend(); err != nil {
		return "", fmt.Errorf("half-close failed: %w", err)
	}
	extra := 0
	for {
		_, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("stream did not end with OK after the half-close: %w", err)
		}
		extra++
	}
	if extra > 0 {
		e = append(e, fmt.Sprintf("%d unexpected replies after the half-close", extra))
	}
	return strings.Join(got, " | ") + ", then OK", e.err()
}

func checkHealth(_ greeterv1.GreeterServiceClient, health grpc_health_v1.HealthClient) (string, error) {
	var e expect
	var got []string
	for _, service := range []string{"", greeterServiceName} {
		ctx, cancel := callContext()
		resp, err := health.Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: service})
		cancel()
		if err != nil {
			return "", fmt.Errorf("Health/Check(%q) failed: %w", service, err)
		}
		e.equal(fmt.Sprintf("Health/Check(%q)", service), resp.GetStatus(), grpc_health_v1.HealthCheckResponse_SERVING)
		got = append(got, fmt.Sprintf("%q: %s", service, resp.GetStatus()))
	}
	return strings.Join(got, ", "), e.err()
}
