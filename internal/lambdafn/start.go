package lambdafn

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

// StartMonitor is the whole of a monitoring function's main: it reads the
// settings from the environment, builds the Monitor once (the cold start),
// and hands the handler pick chooses to the Lambda runtime, which does not
// return. A configuration that cannot be built is logged and returned.
func StartMonitor(pick func(*Monitor) any) error {
	log := NewLogger(os.Stdout)
	s, err := FromEnv(os.Getenv)
	if err != nil {
		log.Error("settings", "error", err.Error())
		return err
	}
	m, err := NewMonitor(context.Background(), s, log, os.Stdout)
	if err != nil {
		log.Error("init", "error", err.Error())
		return err
	}
	start(pick(m))
	return nil
}

// StartRemediator is the remediate function's main, as StartMonitor.
func StartRemediator() error {
	log := NewLogger(os.Stdout)
	s, err := FromEnv(os.Getenv)
	if err != nil {
		log.Error("settings", "error", err.Error())
		return err
	}
	r, err := NewRemediator(context.Background(), s, log)
	if err != nil {
		log.Error("init", "error", err.Error())
		return err
	}
	start(r.Remediate)
	return nil
}

// start runs a handler: one that already speaks raw payloads (Raw) as it
// is, any other typed handler through lambda.Start.
func start(h any) {
	if lh, ok := h.(lambda.Handler); ok {
		lambda.StartHandler(lh)
		return
	}
	lambda.Start(h)
}
