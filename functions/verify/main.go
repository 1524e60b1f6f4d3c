// Command verify is the scheduled Lambda function that proves every KMS key
// protecting an EFS file system works, with an envelope-encryption round
// trip (efs_kms_key_verified).
package main

import (
	"os"

	_ "github.com/atrest/atrest/internal/coldstart/early" // no collection until INIT ends
	"github.com/atrest/atrest/internal/lambdafn"
)

func main() {
	if err := lambdafn.StartVerify(); err != nil {
		os.Exit(1)
	}
}
