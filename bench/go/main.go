// Command greeter-bench serves lattice.greeter.v1.GreeterService/Greet with grpc-go and the contract's generated Go
// types: the reference point of `npm run bench`, next to the Node servers. It answers as the greeter's handler
// does (services/greeter/src/greeter.ts): the trimmed name in the requested language, English when unspecified,
// INVALID_ARGUMENT for a language the contract does not define. Other methods are UNIMPLEMENTED.
//
// It listens on 127.0.0.1:$GRPC_PORT, prints {"msg":"serving",...} once listening and stops gracefully on SIGTERM.
// Built by bench/go/build.sh, which generates the Go types from proto/ first.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	greeterv1 "lattice/bench/greeter/gen/lattice/greeter/v1"
)

// templates are the greeter's, by language.
var templates = map[greeterv1.Language]func(string) string{
	greeterv1.Language_LANGUAGE_ENGLISH:  func(name string) string { return "Hello, " + name + "!" },
	greeterv1.Language_LANGUAGE_FRENCH:   func(name string) string { return "Bonjour, " + name + " !" },
	greeterv1.Language_LANGUAGE_SPANISH:  func(name string) string { return "¡Hola, " + name + "!" },
	greeterv1.Language_LANGUAGE_GERMAN:   func(name string) string { return "Hallo, " + name + "!" },
	greeterv1.Language_LANGUAGE_JAPANESE: func(name string) string { return "こんにちは、" + name + "さん！" },
}

type greeter struct {
	greeterv1.UnimplementedGreeterServiceServer
}

// Greet greets the request's name, trimmed of surrounding white space.
func (greeter) Greet(_ context.Context, request *greeterv1.GreetRequest) (*greeterv1.GreetResponse, error) {
	language := request.GetLanguage()
	if language == greeterv1.Language_LANGUAGE_UNSPECIFIED {
		language = greeterv1.Language_LANGUAGE_ENGLISH
	}
	template, ok := templates[language]
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "language: unknown language %d", language)
	}
	return &greeterv1.GreetResponse{Message: template(strings.TrimSpace(request.GetName())), Language: language}, nil
}

func main() {
	port := os.Getenv("GRPC_PORT")
	if port == "" {
		fmt.Fprintln(os.Stderr, "GRPC_PORT must be set")
		os.Exit(2)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	server := grpc.NewServer()
	greeterv1.RegisterGreeterServiceServer(server, greeter{})
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		server.GracefulStop()
	}()
	fmt.Printf("{\"msg\":\"serving\",\"grpc\":\"127.0.0.1:%s\"}\n", port)
	if err := server.Serve(listener); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
