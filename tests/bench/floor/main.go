// Command floor is the smallest useful Function Compute go1 function: it
// makes one DescribeImages call with alibaba-cloud-sdk-go, signed with the
// invocation's credentials, against ECS_ENDPOINT. tests/bench compares the
// function's cold start and memory with it: what any go1 function that
// talks to ECS with this SDK pays, the floor the function is held to.
package main

import (
	"context"
	"errors"
	"net/url"
	"os"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/fc-runtime-go-sdk/fc"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"
)

// answer is what the function returns: how many images the call listed.
type answer struct {
	Images int `json:"images"`
}

func main() {
	fc.Start(describe)
}

func describe(ctx context.Context, _ []byte) (answer, error) {
	fctx, ok := fccontext.FromContext(ctx)
	if !ok {
		return answer{}, errors.New("no FC context")
	}
	ep, err := url.Parse(os.Getenv("ECS_ENDPOINT"))
	if err != nil || ep.Host == "" {
		return answer{}, errors.New("ECS_ENDPOINT must be a URL")
	}
	c := fctx.Credentials
	var client *ecs.Client
	if c.SecurityToken != "" {
		client, err = ecs.NewClientWithStsToken(fctx.Region, c.AccessKeyId, c.AccessKeySecret, c.SecurityToken)
	} else {
		client, err = ecs.NewClientWithAccessKey(fctx.Region, c.AccessKeyId, c.AccessKeySecret)
	}
	if err != nil {
		return answer{}, err
	}
	req := ecs.CreateDescribeImagesRequest()
	req.Domain, req.Scheme = ep.Host, ep.Scheme
	req.ImageOwnerAlias = "self"
	resp, err := client.DescribeImages(req)
	if err != nil {
		return answer{}, err
	}
	return answer{Images: len(resp.Images.Image)}, nil
}
