package main

// The vocabulary resumes are written from. Employers include well-known names (so
// pedigree tiers vary) and invented ones; schools span continents and scripts.

// track is one role family: how its people are titled, what they know and what
// their bullet points say.
type track struct {
	name     string
	titles   []string // individual-contributor titles, without a level word
	manager  string   // first people-manager title
	director string
	vp       string
	chief    string
	skills   []string
	bullets  []string // {skill}, {n}, {pct} are filled in
	employer []string // "" means: any of techEmployers
}

var tracks = []track{
	{name: "backend", titles: []string{"Backend Engineer", "Software Engineer", "Backend Developer"},
		manager: "Engineering Manager", director: "Director of Engineering", vp: "VP of Engineering", chief: "CTO",
		skills: []string{"Go", "Java", "Python", "Rust", "Kotlin", "PostgreSQL", "MySQL", "Redis", "Kafka",
			"gRPC", "GraphQL", "Docker", "Kubernetes", "AWS", "GCP", "Spring Boot", "Django", "Node.js"},
		bullets: []string{"Split a monolith into {n} services behind gRPC; deploys went from weekly to daily.",
			"Owned the {skill} payments ledger: {n}k writes per second at peak.",
			"Cut p99 latency by {pct}% by moving hot reads to Redis.",
			"Wrote the on-call runbooks and halved pages per week.",
			"Migrated {n} TB from MySQL to PostgreSQL with no downtime.",
			"Designed idempotent webhooks used by {n} partner integrations."}},
	{name: "frontend", titles: []string{"Frontend Engineer", "Front-End Developer", "UI Engineer"},
		manager: "Engineering Manager", director: "Director of Engineering", vp: "VP of Engineering", chief: "CTO",
		skills: []string{"TypeScript", "JavaScript", "React", "Next.js", "Vue", "Angular", "Redux", "CSS",
			"HTML", "Webpack", "Jest", "Playwright", "Cypress", "GraphQL", "Tailwind CSS"},
		bullets: []string{"Rebuilt the checkout in {skill}; conversion up {pct}%.",
			"Brought Lighthouse performance from {n} to 95 on the landing pages.",
			"Introduced a design system used by {n} product teams.",
			"Raised end-to-end test coverage with {skill} from {n}% to 80%.",
			"Made the dashboard accessible (WCAG 2.1 AA) for screen-reader users."}},
	{name: "data", titles: []string{"Data Engineer", "Data Scientist", "Machine Learning Engineer", "Data Analyst"},
		manager: "Data Science Manager", director: "Head of Data", vp: "VP of Data", chief: "Chief Data Officer",
		skills: []string{"Python", "SQL", "Spark", "Airflow", "dbt", "PyTorch", "TensorFlow", "scikit-learn",
			"BigQuery", "Snowflake", "pandas", "Kafka", "R", "Tableau"},
		bullets: []string{"Built the churn model ({skill}) that saved {pct}% of at-risk accounts.",
			"Moved {n} nightly jobs to Airflow with data-quality checks.",
			"Cut the warehouse bill by {pct}% by partitioning the event tables.",
			"Shipped a recommendation service serving {n}M predictions a day.",
			"Ran the experimentation platform's A/B analyses for {n} teams."}},
	{name: "mobile", titles: []string{"iOS Engineer", "Android Engineer", "Mobile Developer"},
		manager: "Engineering Manager", director: "Director of Engineering", vp: "VP of Engineering", chief: "CTO",
		skills: []string{"Swift", "Kotlin", "Objective-C", "Java", "Flutter", "Dart", "React Native", "Firebase",
			"GraphQL", "Jetpack Compose", "SwiftUI"},
		bullets: []string{"Shipped the offline mode in {skill}; crash-free sessions at 99.{n}%.",
			"Cut cold start time by {pct}% on low-end Android devices.",
			"Led the migration to {skill} for {n} screens.",
			"Published {n} releases a year to the App Store and Google Play."}},
	{name: "platform", titles: []string{"Site Reliability Engineer", "DevOps Engineer", "Platform Engineer"},
		manager: "Engineering Manager", director: "Director of Infrastructure", vp: "VP of Engineering", chief: "CTO",
		skills: []string{"Kubernetes", "Terraform", "AWS", "GCP", "Azure", "Docker", "Prometheus", "Grafana",
			"Ansible", "Bash", "Go", "Python", "Linux", "Helm"},
		bullets: []string{"Moved {n} services to Kubernetes with Terraform-managed clusters.",
			"Took availability from 99.5% to 99.95% with SLOs and error budgets.",
			"Cut cloud spend by {pct}% with right-sizing and spot instances.",
			"Built the CI/CD pipeline that runs {n}k builds a month."}},
	{name: "product", titles: []string{"Product Manager", "Product Owner"},
		manager: "Group Product Manager", director: "Head of Product", vp: "VP of Product", chief: "Chief Product Officer",
		skills: []string{"SQL", "Jira", "Amplitude", "Figma", "A/B testing", "roadmapping", "OKRs", "user research"},
		bullets: []string{"Owned the onboarding roadmap; activation up {pct}%.",
			"Ran {n} customer interviews a quarter and turned them into the strategy doc.",
			"Launched self-serve billing in {n} countries with {skill} tracking.",
			"Worked with stakeholders across sales, legal and engineering to ship SSO."}},
	{name: "design", titles: []string{"Product Designer", "UX Designer", "UI Designer"},
		manager: "Design Manager", director: "Head of Design", vp: "VP of Design", chief: "Chief Design Officer",
		skills: []string{"Figma", "Sketch", "user research", "prototyping", "HTML", "CSS", "design systems"},
		bullets: []string{"Redesigned the mobile signup; drop-off down {pct}%.",
			"Ran {n} usability sessions per release with {skill} prototypes.",
			"Built and documented the design system with {n} components."}},
	{name: "sales", titles: []string{"Account Executive", "Sales Development Representative", "Account Manager"},
		manager: "Sales Manager", director: "Director of Sales", vp: "VP of Sales", chief: "Chief Revenue Officer",
		skills: []string{"Salesforce", "HubSpot", "Gong", "Outreach", "negotiation", "pipeline management",
			"enterprise sales", "SaaS"},
		bullets: []string{"Closed ${n}00k in new ARR at {pct}% above quota.",
			"Built a pipeline of {n} enterprise accounts in a new territory using {skill}.",
			"Shortened the sales cycle by {pct}% with a mutual action plan.",
			"President's Club {n} times."}},
	{name: "clinical", titles: []string{"Registered Nurse", "Staff Nurse", "Clinical Nurse"},
		manager: "Charge Nurse", director: "Director of Nursing", vp: "VP of Patient Care", chief: "Chief Nursing Officer",
		skills: []string{"patient care", "triage", "ICU", "BLS", "ACLS", "PALS", "Epic", "EHR", "Cerner", "wound care"},
		bullets: []string{"Cared for {n} patients per shift in a 30-bed unit using {skill}.",
			"Precepted {n} new graduate nurses.",
			"Cut medication errors on the ward by {pct}% with a double-check protocol.",
			"Rapid-response team member; ACLS and BLS certified."},
		employer: []string{"Mayo Clinic", "Mount Sinai", "Charité", "Hospital Sírio-Libanês", "Cleveland Clinic",
			"St Mary's Community Hospital", "Riverside Health", "Lakeview Medical Center", "Apollo Hospitals"}},
}

var techEmployers = []string{
	"Google", "Microsoft", "Amazon", "Apple", "Meta", "Netflix", "Stripe", "Nubank", "Nvidia",
	"Shopify", "Atlassian", "Datadog", "Spotify", "Zalando", "MercadoLibre", "iFood", "Uber", "Airbnb",
	"Salesforce", "SAP", "Oracle", "Snowflake", "Databricks",
	"Initrode Systems", "Northwind Retail", "Contoso Corp", "Blue Harbor Group", "Meridian Industries",
	"Fernwood Labs", "Polaris AI", "Lumen Ventures", "Sunbird.io", "Kestrel Analytics", "Yellowtail Logistics",
	"Papaya Pay", "Orbital Freight", "Gato Digital", "Kōbō Software",
}

type school struct{ name, country string }

var schools = []school{
	{"University of Waterloo", "CA"}, {"Stanford University", "US"}, {"MIT", "US"}, {"Georgia Institute of Technology", "US"},
	{"Universidade de São Paulo", "BR"}, {"UNICAMP", "BR"}, {"Universidad de Buenos Aires", "AR"},
	{"Technische Universität München", "DE"}, {"ETH Zürich", "CH"}, {"EPFL", "CH"}, {"Politecnico di Milano", "IT"},
	{"University of Lagos", "NG"}, {"University of Cape Town", "ZA"}, {"IIT Delhi", "IN"}, {"Tsinghua University", "CN"},
	{"Seoul National University", "KR"}, {"University of Tokyo", "JP"}, {"Warsaw University of Technology", "PL"},
	{"Johns Hopkins University", "US"}, {"King's College London", "GB"}, {"Lincoln Community College", "US"},
}

// degrees per track family, in the spellings people use; "{field}" is filled in.
var degreeSpellings = []string{
	"B.S. in {field}", "BSc {field}", "Bachelor of Science in {field}", "B.Eng. {field}",
	"M.S. in {field}", "MSc {field}", "Master of Science in {field}", "Ph.D. in {field}",
}

var fieldsByTrack = map[string][]string{
	"backend":  {"Computer Science", "Software Engineering", "Computer Engineering", "Mathematics"},
	"frontend": {"Computer Science", "Information Systems", "Interaction Design"},
	"data":     {"Statistics", "Computer Science", "Applied Mathematics", "Physics", "Economics"},
	"mobile":   {"Computer Science", "Software Engineering", "Electrical Engineering"},
	"platform": {"Computer Engineering", "Computer Science", "Electrical Engineering"},
	"product":  {"Economics", "Computer Science", "Business Administration"},
	"design":   {"Graphic Design", "Human-Computer Interaction", "Psychology"},
	"sales":    {"Economics", "Business Administration", "Communications", "Marketing"},
	"clinical": {"Nursing"},
}

var (
	givenNames = []string{"Ana", "Amara", "Björn", "Camila", "Chiara", "Dae-jung", "Elif", "Émile", "Farah",
		"Gustavo", "Hana", "Ifeoma", "Jonas", "Kwame", "Laila", "Mei", "Nikolai", "Noémie", "Oluwaseun",
		"Pedro", "Rania", "Santiago", "Siobhán", "Tariq", "Thuy", "Valentina", "Wojciech", "Yara", "Zanele",
		"Arjun", "Beatriz", "Connor", "Dilnoza", "Esperanza", "Anne-Marie"}
	familyNames = []string{"Almeida", "Bianchi", "Chowdhury", "Dlamini", "Eriksson", "Fernández", "Grünewald",
		"Hoang", "Ibrahim", "Jankowski", "Kim", "Lindqvist", "Mbeki", "Nakamura", "O'Connor", "Petrov",
		"Quispe", "Reyes", "Sato", "Szabó", "Tran", "Uchenna", "van der Berg", "Wójcik", "Yilmaz", "Zhou",
		"Adeyemi", "Moreau"}
	// nativeNames are written in their own script, with the Latin spelling used for email.
	nativeNames = [][2]string{{"王芳", "wang.fang"}, {"佐藤 健", "sato.ken"}, {"김민준", "kim.minjun"},
		{"Дмитрий Соколов", "dmitry.sokolov"}, {"ليلى حداد", "layla.haddad"}, {"Νίκος Παπαδόπουλος", "nikos.papadopoulos"},
		{"अनन्या शर्मा", "ananya.sharma"}}
)

var tenants = []string{"tenant-alpha", "tenant-beta", "tenant-gamma", "tenant-delta"}

var sources = []string{"linkedin", "referral", "careers-page", "ats-import", "agency", "event"}
