package emulator_test

import (
	"fmt"
	"strings"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
)

// The README's Tea SDK example, against the demo seed: the Tea SDK signs
// with V3 (ACS3-HMAC-SHA256) unless told otherwise.
func Example_teaSDK() {
	seed, err := emulator.LoadSeed("../../events/seed/demo.json")
	if err != nil {
		panic(err)
	}
	emu, err := emulator.Start(emulator.Options{Seed: seed})
	if err != nil {
		panic(err)
	}
	defer emu.Close()

	client, err := ecs.NewClient(&openapi.Config{
		AccessKeyId:     tea.String("emulator"),
		AccessKeySecret: tea.String("emulator"),
		Endpoint:        tea.String(strings.TrimPrefix(emu.URL(), "http://")), // host:port, no scheme
		Protocol:        tea.String("HTTP"),
		RegionId:        tea.String("cn-hangzhou"),
	})
	if err != nil {
		panic(err)
	}
	resp, err := client.DescribeImages(&ecs.DescribeImagesRequest{
		RegionId:        tea.String("cn-hangzhou"),
		ImageFamily:     tea.String("api"),
		ImageOwnerAlias: tea.String("self"),
		Status:          tea.String("Available,Deprecated"),
	})
	if err != nil {
		panic(err)
	}
	for _, im := range resp.Body.Images.Image {
		fmt.Println(*im.ImageId, *im.Status, *im.Usage, *im.IsSelfShared)
	}
	fmt.Println(emu.CallView().Calls) // what GET /_emulator/calls shows as "calls"
	// Output:
	// m-bp1api5d6e7f8g9h0i1 Available instance False
	// m-bp1api2j3k4l5m6n7o8p Available none True
	// m-bp1api8c9d0e1f2g3h4i Available none False
	// map[DescribeImages:1]
}
