package api

import (
	"context"
	"errors"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/webhook"
)

func init() { register((*Service).webhookDeliveryEndpoints) }

func (s *Service) webhookDeliveryEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "webhook.deliveryInfo", Permission: ashby.APIKeysRead, Extension: true,
			Summary: "One webhook delivery with its attempts and the request body it sends."}, s.webhookDeliveryInfo),
	}
}

// DeliveryInfo is a delivery with the body of its requests.
type DeliveryInfo struct {
	webhook.Delivery
	RequestBody string `json:"requestBody,omitempty" doc:"The JSON body POSTed on every attempt; absent once the event is no longer kept."`
}

type webhookDeliveryInfoRequest struct {
	DeliveryID ashby.ID `json:"deliveryId" required:"true"`
}

func (s *Service) webhookDeliveryInfo(ctx context.Context, c *rpc.Call, req *webhookDeliveryInfoRequest) (rpc.Result[DeliveryInfo], error) {
	d, err := webhook.GetDelivery(ctx, s.DB, c.Org(), string(req.DeliveryID))
	if errors.Is(err, webhook.ErrDeliveryNotFound) {
		return rpc.Result[DeliveryInfo]{}, ashby.NotFound("webhook_delivery", "Webhook delivery not found")
	}
	if err != nil {
		return rpc.Result[DeliveryInfo]{}, err
	}
	body, err := webhook.RequestBody(ctx, s.DB, c.Org(), d.ID)
	if err != nil {
		return rpc.Result[DeliveryInfo]{}, err
	}
	return rpc.Value(&DeliveryInfo{Delivery: *d, RequestBody: string(body)}), nil
}
