// Command routewebhook admits route.openshift.io/v1 Routes on the test harness the way
// openshift-apiserver does, by calling the same library-go code OpenShift's route strategy
// calls:
//
//   - mutating (/mutate, CREATE and UPDATE): defaulting (pkg/route/defaulting), host allocation
//     <name>-<namespace>.<apps domain> with the openshift.io/host.generated annotation, and the
//     routes/custom-host SubjectAccessReview against the requesting user when spec.host or a
//     certificate is set (pkg/route/hostassignment.AllocateHost); on UPDATE an empty host keeps
//     the old one, as the route strategy's PrepareForUpdate does.
//   - validating (/validate): ValidateRoute on CREATE, ValidateHostUpdate and ValidateRouteUpdate
//     on UPDATE, ValidateRouteStatusUpdate on UPDATE of routes/status (pkg/route/validation).
//
// It is registered by tests/harness/control_plane.py with failurePolicy Fail and a CA bundle the
// harness generates; /readyz answers once it serves.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"time"

	routev1 "github.com/openshift/api/route/v1"
	routecommon "github.com/openshift/library-go/pkg/route"
	"github.com/openshift/library-go/pkg/route/defaulting"
	"github.com/openshift/library-go/pkg/route/hostassignment"
	"github.com/openshift/library-go/pkg/route/validation"
	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

var routeKind = schema.GroupKind{Group: routev1.GroupName, Kind: "Route"}

// options mirror openshift-apiserver with the RouteExternalCertificate feature gate on (GA in
// OpenShift 4.19; the harness serves the 4.20 Route CRD, which has spec.tls.externalCertificate).
var options = routecommon.RouteValidationOptions{AllowExternalCertificates: true}

// admitter holds what the library-go checks need: a SubjectAccessReview creator and a
// Secrets getter (externalCertificate), both from the admin kubeconfig, and the host generator.
type admitter struct {
	clients   kubernetes.Interface
	allocator hostassignment.HostnameGenerator
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve HTTPS on")
	certFile := flag.String("tls-cert-file", "", "serving certificate (PEM)")
	keyFile := flag.String("tls-private-key-file", "", "serving key (PEM)")
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig for SubjectAccessReviews and Secrets")
	domain := flag.String("domain", "", "apps domain of generated hosts")
	flag.Parse()

	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		log.Fatalf("kubeconfig: %v", err)
	}
	clients, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		log.Fatalf("client: %v", err)
	}
	allocator, err := hostassignment.NewSimpleAllocationPlugin(*domain)
	if err != nil {
		log.Fatalf("domain: %v", err)
	}
	a := &admitter{clients: clients, allocator: allocator}

	mux := http.NewServeMux()
	mux.HandleFunc("/mutate", serve(a.mutate))
	mux.HandleFunc("/validate", serve(a.validate))
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("routewebhook serving on %s, domain %s", *listen, *domain)
	log.Fatal(srv.ListenAndServeTLS(*certFile, *keyFile))
}

// serve decodes an AdmissionReview, runs fn on its request and writes the review back.
func serve(fn func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var review admissionv1.AdmissionReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(w, fmt.Sprintf("not an AdmissionReview: %v", err), http.StatusBadRequest)
			return
		}
		resp := fn(review.Request)
		resp.UID = review.Request.UID
		review.Response = resp
		review.Request = nil
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(&review)
	}
}

// requestContext carries the requesting user and namespace as openshift-apiserver's request
// context does: AllocateHost and ValidateHostUpdate read them from there.
func requestContext(req *admissionv1.AdmissionRequest) context.Context {
	extra := map[string][]string{}
	for k, v := range req.UserInfo.Extra {
		extra[k] = v
	}
	u := &user.DefaultInfo{
		Name:   req.UserInfo.Username,
		UID:    req.UserInfo.UID,
		Groups: req.UserInfo.Groups,
		Extra:  extra,
	}
	ctx := request.WithUser(context.Background(), u)
	return request.WithNamespace(ctx, req.Namespace)
}

func decode(raw []byte) (*routev1.Route, error) {
	route := &routev1.Route{}
	if err := json.Unmarshal(raw, route); err != nil {
		return nil, err
	}
	return route, nil
}

// deny answers with the same Invalid status (422) openshift-apiserver returns for these errors.
func deny(name string, errs field.ErrorList) *admissionv1.AdmissionResponse {
	status := apierrors.NewInvalid(routeKind, name, errs).ErrStatus
	log.Printf("denied route %q: %s", name, status.Message)
	return &admissionv1.AdmissionResponse{Allowed: false, Result: &status}
}

func failed(err error) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{
		Allowed: false,
		Result:  &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusBadRequest, Message: err.Error()},
	}
}

// setDefaults applies OpenShift's Route defaults (the ones its API scheme registers).
func setDefaults(route *routev1.Route) {
	defaulting.SetDefaults_RouteSpec(&route.Spec)
	defaulting.SetDefaults_RouteTargetReference(&route.Spec.To)
	for i := range route.Spec.AlternateBackends {
		defaulting.SetDefaults_RouteTargetReference(&route.Spec.AlternateBackends[i])
	}
	if route.Spec.TLS != nil {
		defaulting.SetDefaults_TLSConfig(route.Spec.TLS)
	}
}

func (a *admitter) mutate(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	if req.SubResource != "" {
		return &admissionv1.AdmissionResponse{Allowed: true}
	}
	route, err := decode(req.Object.Raw)
	if err != nil {
		return failed(err)
	}
	ctx := requestContext(req)
	switch req.Operation {
	case admissionv1.Create:
		if errs := hostassignment.AllocateHost(ctx, route, a.clients.AuthorizationV1().SubjectAccessReviews(), a.allocator, options); len(errs) > 0 {
			return deny(req.Name, errs)
		}
	case admissionv1.Update:
		old, err := decode(req.OldObject.Raw)
		if err != nil {
			return failed(err)
		}
		// The route strategy's PrepareForUpdate: "Ignore attempts to clear the spec Host".
		// On OpenShift the generated host is set after field management and so is owned by
		// no field manager; here the creator's manager owns it (a mutating webhook's changes
		// count as the requester's), so a server-side apply without spec.host clears host and
		// annotation: both are put back, which leaves the object as OpenShift would.
		if route.Spec.Host == "" && old.Spec.Host != "" {
			route.Spec.Host = old.Spec.Host
			if v, ok := old.Annotations[hostassignment.HostGeneratedAnnotationKey]; ok {
				if route.Annotations == nil {
					route.Annotations = map[string]string{}
				}
				route.Annotations[hostassignment.HostGeneratedAnnotationKey] = v
			}
		}
	}
	setDefaults(route)
	return patchTo(req.Object.Raw, route)
}

func (a *admitter) validate(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	route, err := decode(req.Object.Raw)
	if err != nil {
		return failed(err)
	}
	ctx := requestContext(req)
	sar := a.clients.AuthorizationV1().SubjectAccessReviews()
	var errs field.ErrorList
	switch {
	case req.Operation == admissionv1.Create && req.SubResource == "":
		errs = validation.ValidateRoute(ctx, route, sar, a.clients.CoreV1(), options)
	case req.Operation == admissionv1.Update:
		old, err := decode(req.OldObject.Raw)
		if err != nil {
			return failed(err)
		}
		if req.SubResource == "status" {
			errs = validation.ValidateRouteStatusUpdate(route, old)
			break
		}
		errs = hostassignment.ValidateHostUpdate(ctx, route, old, sar, options)
		errs = append(errs, validation.ValidateRouteUpdate(ctx, route, old, sar, a.clients.CoreV1(), options)...)
	}
	if len(errs) > 0 {
		return deny(req.Name, errs)
	}
	return &admissionv1.AdmissionResponse{Allowed: true}
}

// patchTo answers with a JSON patch turning the request's object into route: spec replaced
// whole (defaults and host), annotations replaced whole when they changed.
func patchTo(raw []byte, route *routev1.Route) *admissionv1.AdmissionResponse {
	var orig struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &orig); err != nil {
		return failed(err)
	}
	ops := []map[string]any{{"op": "replace", "path": "/spec", "value": route.Spec}}
	if len(route.Annotations) != len(orig.Metadata.Annotations) {
		ops = append(ops, map[string]any{"op": "add", "path": "/metadata/annotations", "value": route.Annotations})
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		return failed(err)
	}
	pt := admissionv1.PatchTypeJSONPatch
	return &admissionv1.AdmissionResponse{Allowed: true, Patch: patch, PatchType: &pt}
}
