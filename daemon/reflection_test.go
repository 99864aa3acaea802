package daemon

import (
	"io"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// TestReflectionDrivenCalls does what grpcurl does: it learns the API only
// through server reflection (no compiled-in xdrlink types) and creates and
// reads a tenant with dynamic messages built from the JSON a user would type.
func TestReflectionDrivenCalls(t *testing.T) {
	d := startDaemon(t)
	conn, err := grpc.NewClient(d.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := t.Context()
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stream.CloseSend() }()
	ask := func(req *reflectionpb.ServerReflectionRequest) *reflectionpb.ServerReflectionResponse {
		t.Helper()
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		return resp
	}

	services := map[string]bool{}
	for _, s := range ask(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}).GetListServicesResponse().GetService() {
		services[s.GetName()] = true
	}
	for want := range d.grpc.GetServiceInfo() { // everything served is discoverable
		if want == "grpc.reflection.v1.ServerReflection" || want == "grpc.reflection.v1alpha.ServerReflection" {
			continue
		}
		if !services[want] {
			t.Errorf("reflection does not list %s (has %v)", want, services)
		}
	}

	// Build a private registry from the descriptors the server sends.
	resp := ask(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "xdrlink.v1.TenantService"},
	})
	files := &descriptorpb.FileDescriptorSet{}
	for _, raw := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
		fd := &descriptorpb.FileDescriptorProto{}
		if err := proto.Unmarshal(raw, fd); err != nil {
			t.Fatal(err)
		}
		files.File = append(files.File, fd)
	}
	// The server sends the file and its dependencies; fetch any missing ones
	// by name, as grpcurl does.
	have := map[string]bool{}
	for _, f := range files.File {
		have[f.GetName()] = true
	}
	for i := 0; i < len(files.File); i++ {
		for _, dep := range files.File[i].GetDependency() {
			if have[dep] {
				continue
			}
			for _, raw := range ask(&reflectionpb.ServerReflectionRequest{
				MessageRequest: &reflectionpb.ServerReflectionRequest_FileByFilename{FileByFilename: dep},
			}).GetFileDescriptorResponse().GetFileDescriptorProto() {
				fd := &descriptorpb.FileDescriptorProto{}
				if err := proto.Unmarshal(raw, fd); err != nil {
					t.Fatal(err)
				}
				if !have[fd.GetName()] {
					have[fd.GetName()] = true
					files.File = append(files.File, fd)
				}
			}
		}
	}
	reg, err := protodesc.NewFiles(files)
	if err != nil {
		t.Fatalf("descriptors from reflection do not link: %v", err)
	}
	svcDesc, err := reg.FindDescriptorByName("xdrlink.v1.TenantService")
	if err != nil {
		t.Fatal(err)
	}
	methods := svcDesc.(protoreflect.ServiceDescriptor).Methods()
	types := dynamicpb.NewTypes(reg)
	call := func(method, reqJSON string) *dynamicpb.Message {
		t.Helper()
		m := methods.ByName(protoreflect.Name(method))
		req := dynamicpb.NewMessage(m.Input())
		if err := (protojson.UnmarshalOptions{Resolver: types}).Unmarshal([]byte(reqJSON), req); err != nil {
			t.Fatal(err)
		}
		out := dynamicpb.NewMessage(m.Output())
		if err := conn.Invoke(ctx, "/xdrlink.v1.TenantService/"+method, req, out); err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		return out
	}

	created := call("CreateTenant", `{"tenant_id":"woodgrove","tenant":{"display_name":"Woodgrove",
		"entra_tenant_id":"0f9c2e8a-1b2c-4d3e-8f4a-5b6c7d8e9f00",
		"workspace":{"subscription_id":"3b1f5e2a-7c4d-4e8f-9a0b-1c2d3e4f5a6b","resource_group":"rg","name":"ws-wood"}}}`)
	name := created.Get(created.Descriptor().Fields().ByName("name")).String()
	if name != "tenants/woodgrove" {
		t.Fatalf("created %v", created)
	}
	got := call("GetTenant", `{"name":"tenants/woodgrove"}`)
	if display := got.Get(got.Descriptor().Fields().ByName("display_name")).String(); display != "Woodgrove" {
		t.Errorf("get returned display_name %q", display)
	}
}
