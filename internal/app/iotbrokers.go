package app

import (
	"time"

	"odx/internal/config"
	"odx/internal/iothub"
)

// mqttBroker translates the config's iotHubs.<hub>.mqtt for the IotHub connector.
func mqttBroker(m config.MQTTBroker) *iothub.Broker {
	return &iothub.Broker{
		Address: m.Address, TLS: m.TLS, CAFile: m.CAFile, Username: m.Username, Password: m.Password,
		ClientIDPrefix: m.ClientIDPrefix, Sessions: m.Sessions, SessionExpiry: time.Duration(m.SessionExpiry),
	}
}
