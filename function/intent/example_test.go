package intent_test

import (
	"errors"
	"fmt"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
)

func ExampleParse() {
	in, err := intent.Parse([]byte(`{"action":"rotate","imageFamilies":["web-*"],"keep":3,"minAge":"7d"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(in.Action, in.Families(), in.KeepOrDefault(), in.MinAge.Std())
	// Output: rotate [web-*] 3 168h0m0s
}

// A rollback from a named image: the form that is safe to redeliver.
func ExampleParse_rollback() {
	in, err := intent.Parse([]byte(`{"action":"rollback","imageFamily":"web","imageId":"m-bp1web42"}`))
	fmt.Println(in.Action, in.ImageID, in.Families(), err)
	_, err = intent.Parse([]byte(`{"action":"rotate","imageFamily":"web","imageId":"m-bp1web42"}`))
	fmt.Println(err)
	// Output:
	// rollback m-bp1web42 [web] <nil>
	// InvalidParameter: imageId: does not apply to rotate, which works on imageFamily
}

func ExampleParse_unknownField() {
	_, err := intent.Parse([]byte(`{"action":"modify","ImageId":"m-bp1"}`))
	fmt.Println(err)
	// Output: InvalidParameter.UnknownField: ImageId: unknown field "ImageId"; did you mean "imageId"?
}

func ExampleErrors() {
	_, err := intent.Parse([]byte(`{"action":"modify","imageId":"m-bp1","attributes":{"imageName":"Aliyun-web","bootMode":"uefi"}}`))
	var es intent.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			fmt.Println(e.Code, e.Field)
		}
	}
	// Output:
	// InvalidImageName.Malformed attributes.imageName
	// InvalidBootMode.NotSupport attributes.bootMode
}
