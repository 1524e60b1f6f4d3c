package remediation

import (
	"testing"

	"github.com/atrest/atrest/internal/awstest"
)

func TestMain(m *testing.M) { awstest.Main(m) }
