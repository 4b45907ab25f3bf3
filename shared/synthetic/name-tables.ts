/**
 * Name tables for synthetic UK people. Weights are relative frequencies shaped on the ONS and
 * GRO name statistics for England and Wales: a handful of family names (SMITH, JONES,
 * WILLIAMS...) are very common and a long tail is rare, which is what makes term-frequency
 * adjustment matter in linkage. The values are rounded and blended across birth cohorts; they
 * are realistic in shape, not an official table.
 */

export interface GivenNameEntry {
  readonly name: string;
  readonly weight: number;
  /** Informal forms a record might carry instead; all are in the normaliser's nickname table. */
  readonly nicknames: readonly string[];
}

const g = (name: string, weight: number, ...nicknames: string[]): GivenNameEntry => ({
  name,
  weight,
  nicknames,
});

// prettier-ignore
export const MALE_GIVEN_NAMES: readonly GivenNameEntry[] = [
  g('JAMES', 140, 'JIM', 'JIMMY', 'JAMIE'), g('JOHN', 135, 'JACK', 'JOHNNY', 'JON'),
  g('DAVID', 130, 'DAVE', 'DAVY'), g('MICHAEL', 120, 'MIKE', 'MICK'), g('ROBERT', 100, 'BOB', 'ROB', 'ROBBIE'),
  g('WILLIAM', 100, 'BILL', 'WILL', 'BILLY'), g('PAUL', 90), g('ANDREW', 90, 'ANDY', 'DREW'),
  g('PETER', 85, 'PETE'), g('RICHARD', 85, 'RICK', 'RICH', 'DICK'), g('THOMAS', 90, 'TOM', 'TOMMY'),
  g('CHRISTOPHER', 85, 'CHRIS'), g('MARK', 80), g('DANIEL', 80, 'DAN', 'DANNY'), g('STEPHEN', 70, 'STEVE', 'STEVEN'),
  g('GEORGE', 75), g('MATTHEW', 65, 'MATT'), g('ANTHONY', 55, 'TONY'), g('STEVEN', 45, 'STEVE'),
  g('JOSEPH', 50, 'JOE'), g('GARY', 40), g('KEVIN', 40), g('IAN', 40), g('ALAN', 40), g('BRIAN', 35),
  g('EDWARD', 35, 'ED', 'EDDIE', 'TED'), g('CHARLES', 35, 'CHARLIE'), g('OLIVER', 60, 'OLLIE'),
  g('HARRY', 60), g('JACK', 60), g('NOAH', 40), g('LEO', 35), g('OSCAR', 35), g('ARTHUR', 40, 'ARTIE'),
  g('ALFIE', 30), g('FREDDIE', 25), g('HENRY', 35, 'HARRY', 'HAL'), g('SAMUEL', 40, 'SAM', 'SAMMY'),
  g('BENJAMIN', 40, 'BEN'), g('ALEXANDER', 35, 'ALEX', 'ALEC'), g('JOSHUA', 40, 'JOSH'),
  g('LUKE', 30), g('RYAN', 30), g('ADAM', 35), g('JACOB', 30), g('LIAM', 25), g('CONNOR', 20),
  g('KYLE', 15), g('DEAN', 20), g('LEWIS', 20), g('CALLUM', 20), g('NATHAN', 20), g('AARON', 20),
  g('JONATHAN', 30, 'JON', 'JONNY'), g('NICHOLAS', 30, 'NICK'), g('TIMOTHY', 20, 'TIM'),
  g('PHILIP', 30, 'PHIL'), g('KEITH', 25), g('GRAHAM', 25), g('ROGER', 20), g('FRANCIS', 10, 'FRANK'),
  g('FREDERICK', 15, 'FRED', 'FREDDIE'), g('ALBERT', 10, 'BERT', 'BERTIE'), g('RONALD', 15, 'RON', 'RONNIE'),
  g('RAYMOND', 15, 'RAY'), g('KENNETH', 15, 'KEN', 'KENNY'), g('DONALD', 10, 'DON'),
  g('PATRICK', 20, 'PAT', 'PADDY'), g('SEAN', 20), g('CRAIG', 20), g('WAYNE', 15), g('LEE', 20),
  g('SCOTT', 20), g('SIMON', 30), g('NEIL', 20), g('MARTIN', 30), g('TERENCE', 10, 'TERRY'),
  g('LAWRENCE', 10, 'LARRY'), g('GREGORY', 10, 'GREG'), g('DOUGLAS', 10, 'DOUG'),
  g('MUHAMMAD', 45, 'MOHAMMED', 'MOHAMMAD'), g('ALI', 15), g('OMAR', 12), g('IBRAHIM', 10),
  g('YUSUF', 10), g('HAMZA', 10), g('ARJUN', 10), g('RAJ', 8), g('SANJAY', 6), g('AMIR', 8),
  g('PIOTR', 8), g('TOMASZ', 6), g('KRZYSZTOF', 5), g('ANDREI', 5), g('LUCA', 10), g('MATEO', 6),
  g('KWAME', 5), g('OLUWASEUN', 4), g('CHIDI', 4), g('THEO', 25, 'TED'), g('THEODORE', 12, 'THEO', 'TED'),
  g('MAX', 20), g('ETHAN', 25), g('DYLAN', 20), g('FINLEY', 15), g('REUBEN', 10), g('ELLIS', 8),
  g('TOBY', 15), g('JAYDEN', 12), g('MASON', 20), g('LOGAN', 15), g('ZACHARY', 12, 'ZACH', 'ZAC'),
];

// prettier-ignore
export const FEMALE_GIVEN_NAMES: readonly GivenNameEntry[] = [
  g('MARGARET', 60, 'MAGGIE', 'PEGGY', 'MEG'), g('SUSAN', 80, 'SUE', 'SUSIE'), g('SARAH', 100),
  g('ELIZABETH', 80, 'LIZ', 'BETH', 'LIZZIE', 'BETTY'), g('PATRICIA', 40, 'PAT', 'TRISH'),
  g('JENNIFER', 40, 'JENNY', 'JEN'), g('LINDA', 45), g('BARBARA', 25, 'BARB'), g('KAREN', 60),
  g('JULIE', 55), g('HELEN', 60, 'NELL'), g('CATHERINE', 50, 'KATE', 'CATH', 'KATIE'),
  g('CHRISTINE', 45, 'CHRIS', 'CHRISSIE', 'TINA'), g('MARY', 70, 'MOLLY', 'POLLY'), g('JANET', 35),
  g('ANNE', 40, 'ANN', 'ANNIE'), g('CAROL', 35), g('DEBORAH', 30, 'DEBBIE', 'DEB'), g('NICOLA', 40, 'NIKKI', 'NICKY'),
  g('EMMA', 90), g('REBECCA', 45, 'BECKY', 'BECCA'), g('LAURA', 60), g('CLAIRE', 50), g('RACHEL', 45),
  g('SAMANTHA', 35, 'SAM', 'SAMMY'), g('VICTORIA', 35, 'VICKY', 'TORI'), g('AMANDA', 30, 'MANDY'),
  g('JOANNE', 40, 'JO', 'JOANNA'), g('LISA', 45), g('MICHELLE', 40), g('AMY', 55), g('HANNAH', 55),
  g('CHARLOTTE', 60, 'CHARLIE', 'LOTTIE'), g('SOPHIE', 55), g('JESSICA', 50), g('LUCY', 50),
  g('OLIVIA', 70, 'LIV'), g('AMELIA', 65), g('ISLA', 45), g('AVA', 40), g('EMILY', 60), g('GRACE', 45),
  g('POPPY', 30), g('ISABELLA', 35, 'BELLA', 'IZZY', 'ISABEL'), g('MIA', 40), g('SOPHIA', 35),
  g('ELLA', 35), g('EVIE', 30), g('FREYA', 35), g('LILY', 45), g('CHLOE', 40), g('HOLLY', 25),
  g('ABIGAIL', 25, 'ABBIE', 'ABBY'), g('ALEXANDRA', 20, 'ALEX', 'LEXI'), g('GEORGINA', 12, 'GEORGIE', 'GINA'),
  g('ELEANOR', 25, 'ELLIE', 'NELL'), g('DOROTHY', 15, 'DOT', 'DOLLY'), g('JACQUELINE', 25, 'JACKIE'),
  g('GILLIAN', 25, 'GILL', 'JILL'), g('PAMELA', 20, 'PAM'), g('VALERIE', 15, 'VAL'), g('JEAN', 25),
  g('SHEILA', 20), g('BRENDA', 15), g('JOAN', 25), g('PAULINE', 20), g('TRACEY', 30), g('DAWN', 20),
  g('KELLY', 25), g('DONNA', 20), g('STACEY', 15), g('GEMMA', 30), g('KIRSTY', 15), g('HAYLEY', 20),
  g('DANIELLE', 20), g('KIMBERLEY', 12, 'KIM'), g('NATALIE', 25, 'NAT'), g('CAROLINE', 25, 'CARRIE'),
  g('THERESA', 12, 'TESS', 'TERESA'), g('FRANCES', 10, 'FRAN'), g('JOSEPHINE', 12, 'JO', 'JOSIE'),
  g('FATIMA', 20), g('AISHA', 18), g('MARYAM', 14), g('ZAINAB', 12), g('AMINA', 10), g('PRIYA', 10),
  g('ANITA', 8), g('SUNITA', 6), g('AGNIESZKA', 8), g('KATARZYNA', 7), g('ANNA', 20, 'ANNIE'),
  g('MARIA', 15), g('ELENA', 8), g('IOANA', 5), g('ADWOA', 4), g('CHIOMA', 4), g('NGOZI', 4),
  g('ZARA', 15), g('ROSIE', 20), g('MATILDA', 12), g('EVELYN', 15), g('PHOEBE', 15), g('SIENNA', 12),
];

/**
 * The most common family names, in roughly descending frequency (per 100,000 people). Together
 * they cover about a quarter of the population; {@link TAIL_FAMILY_NAME_PARTS} supplies the rest.
 */
// prettier-ignore
export const COMMON_FAMILY_NAMES: readonly (readonly [string, number])[] = [
  ['SMITH', 1150], ['JONES', 760], ['WILLIAMS', 530], ['TAYLOR', 440], ['BROWN', 420],
  ['DAVIES', 410], ['EVANS', 350], ['WILSON', 320], ['THOMAS', 300], ['JOHNSON', 300],
  ['ROBERTS', 290], ['ROBINSON', 260], ['THOMPSON', 260], ['WRIGHT', 250], ['WALKER', 240],
  ['WHITE', 230], ['EDWARDS', 230], ['HUGHES', 220], ['GREEN', 220], ['HALL', 210],
  ['LEWIS', 210], ['HARRIS', 210], ['CLARKE', 210], ['PATEL', 200], ['JACKSON', 190],
  ['WOOD', 190], ['TURNER', 180], ['MARTIN', 180], ['COOPER', 180], ['HILL', 175],
  ['WARD', 170], ['MORRIS', 170], ['MOORE', 165], ['CLARK', 165], ['LEE', 160],
  ['KING', 160], ['BAKER', 155], ['HARRISON', 155], ['MORGAN', 150], ['ALLEN', 150],
  ['JAMES', 145], ['SCOTT', 145], ['PHILLIPS', 140], ['WATSON', 140], ['DAVIS', 135],
  ['PARKER', 135], ['PRICE', 130], ['BENNETT', 130], ['YOUNG', 130], ['GRIFFITHS', 125],
  ['MITCHELL', 125], ['KELLY', 125], ['COOK', 120], ['CARTER', 120], ['RICHARDSON', 120],
  ['BAILEY', 115], ['COLLINS', 115], ['BELL', 115], ['SHAW', 110], ['MURPHY', 110],
  ['MILLER', 110], ['COX', 105], ['RICHARDS', 105], ['KHAN', 105], ['MARSHALL', 100],
  ['ANDERSON', 100], ['SIMPSON', 100], ['ELLIS', 98], ['ADAMS', 98], ['SINGH', 96],
  ['BEGUM', 95], ['WILKINSON', 94], ['FOSTER', 92], ['CHAPMAN', 90], ['POWELL', 90],
  ['WEBB', 88], ['ROGERS', 88], ['GRAY', 86], ['MASON', 86], ['ALI', 85],
  ['HUNT', 84], ['HUSSAIN', 84], ['CAMPBELL', 82], ['MATTHEWS', 82], ['OWEN', 80],
  ['PALMER', 80], ['HOLMES', 78], ['MILLS', 78], ['BARNES', 76], ['KNIGHT', 76],
  ['LLOYD', 75], ['BUTLER', 75], ['RUSSELL', 74], ['BARKER', 74], ['FISHER', 72],
  ['STEVENS', 72], ['JENKINS', 70], ['MURRAY', 70], ['DIXON', 70], ['HARVEY', 68],
  ['GRAHAM', 66], ['PEARSON', 66], ['AHMED', 66], ['FLETCHER', 64], ['WALSH', 64],
  ['KAUR', 62], ['GIBSON', 62], ['HOWARD', 60], ['ANDREWS', 60], ['STEVENSON', 58],
  ['FORD', 58], ['REYNOLDS', 56], ['PAYNE', 56], ['DAY', 54], ['LAWRENCE', 54],
  ['BURTON', 52], ['HOPKINS', 52], ['MOSS', 50], ['O\'BRIEN', 50], ['O\'CONNOR', 45],
  ['NGUYEN', 30], ['KOWALSKI', 25], ['NOWAK', 28], ['WISNIEWSKI', 15], ['OKAFOR', 15],
  ['MENSAH', 15], ['ADEYEMI', 14], ['POPESCU', 12], ['SILVA', 20], ['SANTOS', 18],
  ['MCDONALD', 40], ['MACLEOD', 20], ['FITZGERALD', 22], ['D\'SOUZA', 12], ['ST JOHN', 6],
];

/**
 * Toponymic and occupational stems and endings combined into the long tail of rarer family
 * names (ASHWORTH, BRADLEY, HOLBROOK...). Each combination is weighted by the product of its
 * parts, which gives the tail the gently decaying shape that real rare names have.
 */
// prettier-ignore
export const TAIL_FAMILY_NAME_PARTS: {
  readonly stems: readonly string[];
  readonly endings: readonly string[];
} = {
  stems: [
    'ASH', 'BRAD', 'CALD', 'DUN', 'FAIR', 'HOL', 'KIRK', 'LANG', 'MAR', 'NORTH', 'OAK',
    'PEN', 'RAD', 'SHER', 'STAN', 'THORN', 'WAT', 'WEST', 'WHIT', 'WIN', 'ALDER', 'BARN',
    'BLACK', 'BRAM', 'BROCK', 'BUCK', 'CART', 'CHES', 'CROS', 'DAL', 'EAST', 'ELM', 'FERN',
    'GOD', 'GREEN', 'HAL', 'HART', 'HATH', 'HAY', 'HEATH', 'HUNT', 'KING', 'LAM', 'LIN',
    'MID', 'MILL', 'MOR', 'NEW', 'OX', 'PAR', 'PRES', 'RED', 'ROCK', 'ROTH', 'SAL', 'SOUTH',
    'STOCK', 'SUN', 'TAL', 'TOWN', 'WAL', 'WEL', 'WICK', 'WOOL', 'YAR', 'BEL', 'CRAN',
    'DEN', 'GAR', 'HAM', 'LEDG', 'MAL', 'NOR', 'PIL', 'RAM', 'SHAW', 'THRELK', 'UP', 'WAD',
    'ABER', 'AINS', 'ALD', 'ARN', 'ATHER', 'BAG', 'BAR', 'BAS', 'BIRK', 'BLAKE', 'BOL', 'BRIN',
    'BROAD', 'BROM', 'BURG', 'CAM', 'CAR', 'CHAD', 'CHIS', 'CLAY', 'COL', 'CORN', 'COX', 'CROW',
    'DAR', 'DART', 'DRAY', 'EARN', 'EDGE', 'ELL', 'EVER', 'FAR', 'FOX', 'GATES', 'GLAD', 'GOLD',
    'GRANT', 'HAD', 'HAR', 'HAW', 'HEB', 'HEN', 'HIL', 'HOB', 'HORN', 'KEN', 'KNAP', 'LAX',
    'LEA', 'LOCK', 'LONG', 'LOW', 'MAN', 'MAY', 'MERE', 'MOS', 'NAS', 'NEW', 'ORD', 'OS',
    'PACK', 'PEM', 'PICK', 'POL', 'QUAR', 'REN', 'RID', 'ROS', 'RUD', 'RYE', 'SAND', 'SED',
    'SKEL', 'SOM', 'SPAL', 'STAIN', 'STRAT', 'SWIN', 'TAN', 'TEM', 'THURS', 'TRED', 'TWY',
    'WAR', 'WEL', 'WET', 'WHIT', 'WIL', 'WOLF', 'WORS', 'WRAX', 'YEO',
  ],
  endings: [
    'WORTH', 'LEY', 'TON', 'FORD', 'HAM', 'FIELD', 'WOOD', 'BY', 'WELL', 'HURST', 'BROOK',
    'COTT', 'DALE', 'MORE', 'STONE', 'BRIDGE', 'COMBE', 'DEN', 'WICK', 'THORPE', 'SON',
    'INGTON', 'STEAD', 'BURN', 'GATE', 'LOW', 'HOLME', 'WAY', 'MAN', 'ER', 'ELL', 'FOLD',
  ],
};
