package config

// Register describes the organisation and its processors for the record
// of processing activities (GDPR art. 30) that `relais register` writes:
// relais knows which processors the configuration sends through, not who
// they are, where they process data or who the controller is.
type Register struct {
	// Controller is the organisation responsible for the processing.
	Controller Controller `yaml:"controller"`
	// Processors describe the providers by role: "email" (the SMTP
	// relay), "sms" (Twilio), "print" (the print house), "hosting".
	Processors []Processor `yaml:"processors"`
}

// Controller identifies the controller and its data-protection officer.
type Controller struct {
	Name    string `yaml:"name" json:"name"`
	Address string `yaml:"address" json:"address"`
	Contact string `yaml:"contact" json:"contact"`
	DPO     string `yaml:"dpo" json:"dpo"`
}

// Processor is one processor as the record names it.
type Processor struct {
	Role string `yaml:"role"`
	Name string `yaml:"name"`
	// Country is where it processes the data (ISO 3166 code or name).
	Country string `yaml:"country"`
	// OutsideEU marks a transfer outside the European Union (GDPR
	// chapter V); Safeguards names its legal ground (adequacy decision,
	// standard contractual clauses…).
	OutsideEU  bool   `yaml:"outside_eu"`
	Safeguards string `yaml:"safeguards"`
}
