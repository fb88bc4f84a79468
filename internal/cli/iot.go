package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"odx/internal/config"
	"odx/internal/iothub"
)

const iotUsage = `
Usage:
  odx iot token --hub HUB --device ID [--module ID] [--policy NAME] [--ttl 1h] [--data DIR]
  odx iot connection-string --hub HUB --device ID [--module ID] [--data DIR]
  odx iot policy add --hub HUB --name NAME --rights RIGHT[,RIGHT...] [--data DIR]
  odx iot policy list --hub HUB [--keys] [--data DIR]

odx's embedded IoT hub accepts devices over MQTT on --mqtt-listen
(127.0.0.1:8883, TLS with DIR/tls/ca.pem) the way Azure IoT Hub does:
  client id  ID (or ID/MODULE)
  username   HUB.azure-devices.net/ID/?api-version=2021-04-12 (or just HUB)
  password   a SAS token from 'odx iot token'
  topic      devices/ID/messages/events/ with an optional property bag,
             e.g. devices/ID/messages/events/Table=Telemetry&%24.mid=42

A hub is created, with IoT Hub's default shared access policies
(iothubowner, service, device, registryRead, registryReadWrite) and fresh
keys in DIR/iothub/keys.json, the first time a command or a data connection
names it.

'token' signs with the device key (as device SDKs do with a connection
string) unless --policy names a policy with DeviceConnect (device,
iothubowner). 'connection-string' prints the device connection string for
Azure IoT device SDKs. Rights: RegistryRead, RegistryWrite, ServiceConnect,
DeviceConnect; an IotHub data connection's sharedAccessPolicyName needs
ServiceConnect.

Example (mosquitto_pub):
  mosquitto_pub -h 127.0.0.1 -p 8883 --cafile odx-data/tls/ca.pem -q 1 \
    -i dev1 -u 'myhub.azure-devices.net/dev1/?api-version=2021-04-12' \
    -P "$(odx iot token --hub myhub --device dev1)" \
    -t 'devices/dev1/messages/events/Table=Telemetry' -m '{"temp":21.5}'`

// runIoT is `odx iot`.
func runIoT(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, strings.TrimSpace(iotUsage))
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errUsage
	}
	verb, args := args[0], args[1:]
	if verb == "policy" {
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			fmt.Fprintln(stderr, strings.TrimSpace(iotUsage))
			return errUsage
		}
		verb, args = "policy "+args[0], args[1:]
	}
	fs := newFlagSet("iot "+verb, iotUsage, stderr)
	dataDir := fs.String("data", config.DefaultDataDir, "odx's data directory")
	hub := fs.String("hub", "", "IoT hub name (required)")
	switch verb {
	case "token", "connection-string":
		device := fs.String("device", "", "device id (required)")
		module := fs.String("module", "", "module id, for a module identity")
		policy, ttl := new(string), new(time.Duration)
		if verb == "token" {
			policy = fs.String("policy", "", "shared access policy to sign with (default: the device key)")
			ttl = fs.Duration("ttl", time.Hour, "how long the token is valid")
		}
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if *hub == "" || *device == "" {
			return errors.New("--hub and --device are required")
		}
		keys, err := iothub.OpenKeys(*dataDir, nil)
		if err != nil {
			return err
		}
		var out string
		if verb == "token" {
			out, err = keys.DeviceToken(*hub, *device, *module, *policy, *ttl)
		} else {
			out, err = keys.DeviceConnectionString(*hub, *device, *module)
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, out)
		return nil
	case "policy add":
		name := fs.String("name", "", "policy name (required)")
		rights := fs.String("rights", "", "comma-separated rights (required), e.g. ServiceConnect")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if *hub == "" || *name == "" || *rights == "" {
			return errors.New("--hub, --name and --rights are required")
		}
		keys, err := iothub.OpenKeys(*dataDir, nil)
		if err != nil {
			return err
		}
		p, err := keys.SetPolicy(*hub, *name, strings.Split(*rights, ","))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "policy %q of IoT hub %s: %s\n", p.Name, *hub, strings.Join(p.Rights, ", "))
		fmt.Fprintf(stdout, "primary key:   %s\nsecondary key: %s\n", p.PrimaryKey, p.SecondaryKey)
		return nil
	case "policy list":
		showKeys := fs.Bool("keys", false, "also print the keys")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if *hub == "" {
			return errors.New("--hub is required")
		}
		keys, err := iothub.OpenKeys(*dataDir, nil)
		if err != nil {
			return err
		}
		h, ok, err := keys.Lookup(*hub)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("IoT hub %q does not exist in %s yet; 'odx iot token --hub %s ...' creates it", *hub, keys.Path(), *hub)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		if *showKeys {
			fmt.Fprintln(tw, "POLICY\tRIGHTS\tPRIMARY KEY\tSECONDARY KEY")
		} else {
			fmt.Fprintln(tw, "POLICY\tRIGHTS")
		}
		for _, p := range h.Policies {
			if *showKeys {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, strings.Join(p.Rights, ","), p.PrimaryKey, p.SecondaryKey)
			} else {
				fmt.Fprintf(tw, "%s\t%s\n", p.Name, strings.Join(p.Rights, ","))
			}
		}
		return tw.Flush()
	}
	fmt.Fprintf(stderr, "odx iot: unknown command %q\n\n%s\n", verb, strings.TrimSpace(iotUsage))
	return errUsage
}
