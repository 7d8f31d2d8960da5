package apnsclient

import (
	"errors"
	"net/http"
	"testing"

	"github.com/sideshow/apns2"
	"go.opentelemetry.io/collector/consumer/consumererror"
)

func TestClassifyEveryAppleReason(t *testing.T) {
	tests := []struct {
		status int
		reason string
		want   Kind
	}{
		{200, "", Sent},
		{400, apns2.ReasonBadCollapseID, Permanent},
		{400, apns2.ReasonBadDeviceToken, ForgetDevice},
		{400, apns2.ReasonBadExpirationDate, Permanent},
		{400, apns2.ReasonBadMessageID, Permanent},
		{400, apns2.ReasonBadPriority, Permanent},
		{400, apns2.ReasonBadTopic, Permanent},
		{400, apns2.ReasonDeviceTokenNotForTopic, ForgetDevice},
		{400, apns2.ReasonDuplicateHeaders, Permanent},
		{400, apns2.ReasonIdleTimeout, Retry},
		{400, apns2.ReasonInvalidPushType, Permanent},
		{400, apns2.ReasonMissingDeviceToken, Permanent},
		{400, apns2.ReasonMissingTopic, Permanent},
		{400, apns2.ReasonPayloadEmpty, Permanent},
		{400, apns2.ReasonTopicDisallowed, Permanent},
		{403, apns2.ReasonBadCertificate, Permanent},
		{403, apns2.ReasonBadCertificateEnvironment, Permanent},
		{403, apns2.ReasonExpiredProviderToken, RefreshToken},
		{403, apns2.ReasonForbidden, Permanent},
		{403, apns2.ReasonInvalidProviderToken, Permanent},
		{403, apns2.ReasonMissingProviderToken, Permanent},
		{404, apns2.ReasonBadPath, Permanent},
		{405, apns2.ReasonMethodNotAllowed, Permanent},
		{410, apns2.ReasonExpiredToken, ForgetDevice},
		{410, apns2.ReasonUnregistered, ForgetDevice},
		{410, "", ForgetDevice},
		{413, apns2.ReasonPayloadTooLarge, Permanent},
		{429, apns2.ReasonTooManyProviderTokenUpdates, Throttled},
		{429, apns2.ReasonTooManyRequests, Throttled},
		{429, "", Throttled},
		{500, apns2.ReasonInternalServerError, Retry},
		{502, "", Retry},
		{503, apns2.ReasonServiceUnavailable, Retry},
		{503, apns2.ReasonShutdown, Retry},
		{418, "SomethingNew", Permanent},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status)+"/"+tt.reason, func(t *testing.T) {
			v := Classify(&apns2.Response{StatusCode: tt.status, Reason: tt.reason}, nil)
			if v.Kind != tt.want {
				t.Fatalf("Classify(%d %s) = %s, want %s", tt.status, tt.reason, v.Kind, tt.want)
			}
			if (v.Err == nil) != (tt.want == Sent) {
				t.Fatalf("Err = %v for kind %s", v.Err, v.Kind)
			}
			ce := v.AsConsumerError()
			if got := consumererror.IsPermanent(ce); got != (tt.want == Permanent || tt.want == ForgetDevice) {
				t.Fatalf("IsPermanent = %v for %s", got, v.Kind)
			}
		})
	}
}

func TestClassifyTransportErrorIsRetried(t *testing.T) {
	v := Classify(nil, errors.New("connection reset"))
	if v.Kind != Retry || v.Err == nil {
		t.Fatalf("got %+v", v)
	}
	if v := Classify(nil, nil); v.Kind != Retry {
		t.Fatalf("nil response: got %s", v.Kind)
	}
}
